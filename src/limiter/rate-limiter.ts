import { DurableObject } from "cloudflare:workers";
import type { LeaseDecision, LimitDecision, RateLimiterRpc, WindowLimit } from "../contract/limiter";

/** An attempt whose Worker never reported back (it died mid-login) counts as a failure after this. */
const LEASE_TTL_MS = 30_000;
/**
 * Waiting for in-flight attempts to settle: refused after WAIT_TIMEOUTS waits of WAIT_ROUND_MS with
 * no attempt settling (about 5 s without progress). A settle wakes every waiter and only one may
 * take the freed slot, so wake-ups are bounded separately.
 */
const WAIT_TIMEOUTS = 20;
const WAIT_ROUND_MS = 250;
const MAX_WAKEUPS = 200;

interface Window {
  startedAt: number;
  endsAt: number;
  count: number;
}

/**
 * One abuse-protection counter per object, addressed by a key such as `ip:<ip>`,
 * `signup-ip:<ip>` or `account:<sha256 of the normalized email>`. A Durable Object, not KV or the
 * Workers rate-limiting binding, because the counts must be exact: every attempt for one key is
 * decided here, one at a time, and the counts are in SQLite so eviction does not reset them.
 *
 * Windows are fixed and anchored at their first counted event: a limit of N per W means at most N
 * counted events in any window, and a client that keeps under N per W is never refused (the
 * contract's floors rely on that; a sliding estimate could refuse it).
 * Limits are passed on each call, so one class serves every limit and config stays in the Worker.
 */
export class RateLimiter extends DurableObject<Env> implements RateLimiterRpc {
  readonly #sql: SqlStorage;
  /** In-flight sign-in attempts (lease id -> deadline): memory only, they last one request. */
  readonly #leases = new Map<string, number>();
  #waiters: Array<() => void> = [];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(
      "CREATE TABLE IF NOT EXISTS windows (name TEXT PRIMARY KEY, started_at INTEGER NOT NULL, ends_at INTEGER NOT NULL, count INTEGER NOT NULL)",
    );
  }

  /** Counts one attempt if the window has room. Refused attempts are not counted, so the window still ends on time. */
  hit(limit: WindowLimit): LimitDecision {
    const now = Date.now();
    const window = this.#current("attempts", limit, now);
    if (window.count >= limit.limit) return refusal(window, now);
    this.#store("attempts", { ...window, count: window.count + 1 });
    return { allowed: true };
  }

  /**
   * Reserves one failure before the password is checked: the attempt counts as a failure until
   * `settle` says otherwise. So a burst of parallel guesses cannot all pass a check-then-count gap:
   * at most `limit` failures are ever possible in a window. An attempt that finds the remaining
   * room taken by in-flight ones waits for them to settle (successes give their slot back), so
   * parallel correct sign-ins are delayed a little, not refused.
   */
  async acquire(limit: WindowLimit): Promise<LeaseDecision> {
    let timeouts = 0;
    for (let round = 0; timeouts < WAIT_TIMEOUTS && round < MAX_WAKEUPS; round++) {
      const now = Date.now();
      this.#expireLeases(limit, now);
      const window = this.#current("failures", limit, now);
      if (window.count >= limit.limit) return refusal(window, now);
      if (window.count + this.#leases.size < limit.limit) {
        const lease = crypto.randomUUID();
        this.#leases.set(lease, now + LEASE_TTL_MS);
        return { allowed: true, lease };
      }
      const woken = await new Promise<boolean>((resolve) => {
        this.#waiters.push(() => resolve(true));
        setTimeout(() => resolve(false), WAIT_ROUND_MS);
      });
      if (!woken) timeouts++;
    }
    return { allowed: false, retryAfterSeconds: 1 };
  }

  /**
   * Decides an attempt whose outcome the caller already knows but has not revealed (an OAuth client
   * secret, cheap to check): a full window refuses it whatever the outcome, else a failure is
   * counted. Decided one at a time, so at most `limit` failures are ever answered as failures in a
   * window, however many arrive in parallel, and nothing holds a slot while it is in flight.
   */
  decide(limit: WindowLimit, failed: boolean): LimitDecision {
    const now = Date.now();
    const window = this.#current("failures", limit, now);
    if (window.count >= limit.limit) return refusal(window, now);
    if (failed) this.#countFailure(limit, now);
    return { allowed: true };
  }

  /** Reports how a reserved attempt ended: a failure is counted, a success only frees its slot. */
  settle(lease: string, failed: boolean, limit: WindowLimit): void {
    if (!this.#leases.delete(lease)) return;
    if (failed) this.#countFailure(limit, Date.now());
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Drops ended windows, so an idle key's object holds no data. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    this.#sql.exec("DELETE FROM windows WHERE ends_at <= ?", now);
    const next = this.#sql.exec<{ at: number | null }>("SELECT min(ends_at) AS at FROM windows").one().at;
    if (next !== null) await this.ctx.storage.setAlarm(Math.max(next, now + 1000));
  }

  #countFailure(limit: WindowLimit, now: number): void {
    const window = this.#current("failures", limit, now);
    this.#store("failures", { ...window, count: window.count + 1 });
  }

  #expireLeases(limit: WindowLimit, now: number): void {
    for (const [lease, deadline] of this.#leases) {
      if (deadline > now) continue;
      this.#leases.delete(lease);
      this.#countFailure(limit, now);
    }
  }

  /** The window in force at `now`: the stored one, or a fresh one starting now. */
  #current(name: string, limit: WindowLimit, now: number): Window {
    const row = this.#sql
      .exec<{ started_at: number; ends_at: number; count: number }>("SELECT started_at, ends_at, count FROM windows WHERE name = ?", name)
      .toArray()[0];
    if (row && row.ends_at > now) return { startedAt: row.started_at, endsAt: row.ends_at, count: row.count };
    return { startedAt: now, endsAt: now + limit.windowMs, count: 0 };
  }

  #store(name: string, window: Window): void {
    this.#sql.exec(
      "INSERT OR REPLACE INTO windows (name, started_at, ends_at, count) VALUES (?, ?, ?, ?)",
      name,
      window.startedAt,
      window.endsAt,
      window.count,
    );
    // Only a new window needs a wake-up; later counts in the same window end at the same time.
    if (window.count === 1) void this.ctx.storage.setAlarm(window.endsAt);
  }
}

function refusal(window: Window, now: number): { allowed: false; retryAfterSeconds: number } {
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((window.endsAt - now) / 1000)) };
}
