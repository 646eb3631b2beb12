import { type PasskeyMirrorRow, passkeyMirrorStatements } from "../db/passkeys";
import type { SecurityEventRow, SessionMirrorRow } from "../db/schema";
import { mirrorSessions } from "../db/session-mirror";
import { type AccountWrite, accountMirrorStatements } from "../db/users";
import { errorFacts, log } from "../shared/log";
import type { EventLog, EventRow } from "./event-log";
import type { PasskeyStore } from "./passkeys";
import type { PasskeyRow, RegistryRow } from "./schema";

const RETRY_MAX_MS = 5 * 60_000;
/**
 * The bound on a change reaching D1 when nothing else pushes it: every transaction that records
 * mirror or webhook work arms the alarm this far ahead, in the same commit, so a process that dies
 * before its own flush lands is woken by that alarm (and a restarted registry arms it at once).
 */
export const MIRROR_GUARD_MS = 10_000;
/** Security events per D1 batch; a longer backlog drains over several batches in one flush. */
const EVENTS_PER_BATCH = 100;

/**
 * The registry's outbox to D1. A session row whose `version` is ahead of its `mirrored_version`
 * has changes D1 has not seen; `flush` pushes all of them in one batch and marks what landed.
 * State-based, so order and repetition do not matter (see db/session-mirror.ts). New security
 * events ride in the same batch (insert-or-ignore), so an event reaches D1 with its session change,
 * and so do the account's own writes (a new password hash, the disable flag).
 */
export class MirrorOutbox {
  #running: Promise<boolean> | null = null;
  #requested = false;
  #failures = 0;

  constructor(
    private readonly sql: SqlStorage,
    private readonly deps: {
      database: () => D1Database;
      userId: () => string | null;
      retryAt: (at: number) => void;
      events: EventLog;
      passkeys: PasskeyStore;
      account: { pendingWrite(): AccountWrite | null; settled(write: AccountWrite): void };
      now: () => number;
    },
  ) {}

  /** Whether anything waits for D1 (cheap: each query walks a partial index or one row). */
  pending(): boolean {
    return (
      this.sql.exec("SELECT 1 FROM sessions WHERE version > mirrored_version LIMIT 1").toArray().length > 0 ||
      this.sql.exec("SELECT 1 FROM events WHERE mirrored = 0 LIMIT 1").toArray().length > 0 ||
      this.sql.exec("SELECT 1 FROM passkeys WHERE version > mirrored_version LIMIT 1").toArray().length > 0 ||
      this.deps.account.pendingWrite() !== null
    );
  }

  /** Resolves true once every pending change is in D1, false if D1 failed (a retry is scheduled). */
  flush(): Promise<boolean> {
    this.#requested = true;
    this.#running ??= this.#drain().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  retryDelay(): number {
    return Math.min(1000 * 2 ** Math.min(this.#failures, 10), RETRY_MAX_MS);
  }

  async #drain(): Promise<boolean> {
    while (this.#requested) {
      this.#requested = false;
      const userId = this.deps.userId();
      const rows = this.sql.exec<RegistryRow>("SELECT * FROM sessions WHERE version > mirrored_version").toArray();
      const events = this.deps.events.unmirrored(EVENTS_PER_BATCH);
      const passkeys = this.deps.passkeys.unmirrored();
      const account = this.deps.account.pendingWrite();
      if ((rows.length === 0 && events.length === 0 && passkeys.length === 0 && account === null) || userId === null) break;
      try {
        await mirrorSessions(
          this.deps.database(),
          rows.map((row) => mirrorRow(userId, row)),
          events.map((event) => eventMirrorRow(userId, event)),
          (orm) => [
            ...passkeyMirrorStatements(
              orm,
              passkeys.map((row) => passkeyMirrorRow(userId, row)),
            ),
            ...(account ? accountMirrorStatements(orm, userId, account) : []),
          ],
        );
      } catch (error) {
        this.#failures++;
        log("error", "D1 mirror failed; the alarm will retry", {
          user_id: userId,
          rows: rows.length,
          events: events.length,
          passkeys: passkeys.length,
          ...errorFacts(error),
        });
        this.deps.retryAt(this.deps.now() + this.retryDelay());
        return false;
      }
      this.#failures = 0;
      for (const row of rows) {
        this.sql.exec("UPDATE sessions SET mirrored_version = max(mirrored_version, ?) WHERE id = ?", row.version, row.id);
      }
      this.deps.events.markMirrored(events.map((event) => event.id));
      this.deps.passkeys.markMirrored(passkeys);
      if (account) this.deps.account.settled(account);
      if (events.length === EVENTS_PER_BATCH) this.#requested = true;
    }
    return true;
  }
}

function mirrorRow(userId: string, row: RegistryRow): SessionMirrorRow {
  return {
    id: row.id,
    userId,
    deviceName: row.device_name,
    browser: row.browser,
    os: row.os,
    deviceType: row.device_type,
    userAgent: row.user_agent,
    ip: row.ip,
    country: row.country,
    region: row.region,
    city: row.city,
    latitude: row.latitude,
    longitude: row.longitude,
    colo: row.colo,
    asn: row.asn,
    createdAt: row.created_at,
    lastActiveAt: row.last_active_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    revokedReason: row.revoked_reason,
    revokedBy: row.revoked_by,
    binding: row.binding,
    confirmedAt: row.confirmed_at,
  };
}

function passkeyMirrorRow(userId: string, row: PasskeyRow): PasskeyMirrorRow {
  return {
    userId,
    id: row.id,
    name: row.name,
    backupEligible: row.backup_eligible === 1,
    backedUp: row.backed_up === 1,
    transports: row.transports,
    aaguid: row.aaguid,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    removed: row.removed_at !== null,
  };
}

function eventMirrorRow(userId: string, event: EventRow): SecurityEventRow {
  return { id: event.id, userId, type: event.type, sessionId: event.session_id, createdAt: event.created_at, details: event.details };
}
