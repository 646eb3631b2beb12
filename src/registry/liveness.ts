import type { SessionView } from "../contract/session";
import { sessionView } from "./rows";
import type { RegistryRow } from "./schema";

/**
 * How stale `last_active_at` may be in storage: one write per session per minute at most. Memory
 * is always current; after a restart the registry reloads the stored value, so the idle timeout
 * can then end a session up to this much early, never late.
 */
const ACTIVITY_PERSIST_INTERVAL_MS = 60_000;
/**
 * How stale `last_active_at` may be in D1. Activity alone (requests, refreshes) marks a session
 * for the mirror only once its D1 copy is this old, so an active session costs D1 one write an
 * hour, not one per refresh; logins and revocations are mirrored at once.
 */
const ACTIVITY_MIRROR_INTERVAL_MS = 60 * 60_000;

interface LiveSession {
  createdAt: number;
  expiresAt: number;
  lastActiveAt: number;
  persistedActiveAt: number;
  mirroredActiveAt: number;
}

/**
 * The registry's memory of its unrevoked, unexpired sessions, and of their activity: liveness is
 * answered from here without a storage read. A session stays here while idle (it is not alive, but
 * it is still revocable) until it is revoked or expires.
 */
export class LiveSessions {
  readonly #live = new Map<string, LiveSession>();

  constructor(
    private readonly sql: SqlStorage,
    private readonly deps: {
      idleTimeoutMs: () => number;
      disabled: () => boolean;
      /** Activity marked a row for the mirror; the outbox should run by `at`. */
      mirrorBy: (at: number) => void;
    },
  ) {}

  /** Reloads what storage holds (after a restart or eviction). */
  load(now: number): void {
    for (const row of this.sql.exec<Pick<RegistryRow, "id" | "created_at" | "expires_at" | "last_active_at">>(
      "SELECT id, created_at, expires_at, last_active_at FROM sessions WHERE revoked_at IS NULL AND expires_at > ?",
      now,
    )) {
      this.add(row.id, row.created_at, row.expires_at, row.last_active_at);
    }
  }

  add(sessionId: string, createdAt: number, expiresAt: number, lastActiveAt: number): void {
    this.#live.set(sessionId, { createdAt, expiresAt, lastActiveAt, persistedActiveAt: lastActiveAt, mirroredActiveAt: lastActiveAt });
  }

  has(sessionId: string): boolean {
    return this.#live.has(sessionId);
  }

  delete(sessionId: string): void {
    this.#live.delete(sessionId);
  }

  /** A stored row as the registry answers for it, with the activity memory holds (storage may lag). */
  view(row: RegistryRow): SessionView {
    return sessionView(row, this.#live.get(row.id)?.lastActiveAt);
  }

  /** Not revoked, within its absolute lifetime, and used within the idle timeout; no side effect. */
  alive(sessionId: string, now: number): boolean {
    const live = this.#live.get(sessionId);
    if (!live || now >= live.expiresAt || this.deps.disabled()) return false;
    return now - live.lastActiveAt < this.deps.idleTimeoutMs();
  }

  /** Live means: not revoked, not expired, not idle. Records activity, persisting it at most once a minute. */
  liveNow(sessionId: string, now: number): boolean {
    if (!this.alive(sessionId, now)) return false;
    this.touched(sessionId, now, false);
    return true;
  }

  /**
   * What a client frame finds: live; lapsed, still held but idle or past expiry and not yet
   * announced (a revocation removes it from here); or ended. Never activity: a socket left open
   * must not keep its session from going idle.
   */
  status(sessionId: string, now: number): "live" | "idle" | "expired" | "ended" {
    if (this.alive(sessionId, now)) return "live";
    const live = this.#live.get(sessionId);
    if (!live) return "ended";
    return now >= live.expiresAt ? "expired" : "idle";
  }

  /**
   * When the session goes idle if it is not used again first (activity moves it later); null for
   * a session not held here. `alive` is false from this instant on.
   */
  idleAt(sessionId: string): number | null {
    const live = this.#live.get(sessionId);
    return live ? live.lastActiveAt + this.deps.idleTimeoutMs() : null;
  }

  summaries(now: number) {
    return [...this.#live]
      .filter(([id]) => this.alive(id, now))
      .map(([id, live]) => ({ id, createdAt: live.createdAt, lastActiveAt: live.lastActiveAt }));
  }

  /**
   * Not revoked and within its absolute lifetime, idle or not: a session that has not ended, so a
   * revocation ends it. An idle session is refused everywhere, but only under today's idle timeout:
   * left unrevoked, a longer timeout configured later would let its refresh token back in.
   */
  unended(sessionId: string, now: number): boolean {
    const live = this.#live.get(sessionId);
    return live !== undefined && now < live.expiresAt;
  }

  /** The sessions a bulk revocation ends: every one that has not ended, idle ones included (see `unended`). */
  unendedIds(now: number): string[] {
    return [...this.#live.keys()].filter((id) => this.unended(id, now));
  }

  /** Forgets the sessions that reached their expiry, and returns their ids. */
  dropExpired(now: number): string[] {
    const expired = [...this.#live].filter(([, live]) => live.expiresAt <= now).map(([id]) => id);
    for (const id of expired) this.#live.delete(id);
    return expired;
  }

  /**
   * Activity: in memory at once, in storage at most once a minute, in D1 at most once an hour.
   * `persisted` says the caller has already written `last_active_at` in its own statement.
   */
  touched(sessionId: string, now: number, persisted: boolean): void {
    const live = this.#live.get(sessionId);
    if (!live) return;
    live.lastActiveAt = now;
    if (!persisted && now - live.persistedActiveAt < ACTIVITY_PERSIST_INTERVAL_MS) return;
    if (!persisted) this.sql.exec("UPDATE sessions SET last_active_at = ? WHERE id = ?", now, sessionId);
    live.persistedActiveAt = now;
    if (now - live.mirroredActiveAt < ACTIVITY_MIRROR_INTERVAL_MS) return;
    this.sql.exec("UPDATE sessions SET version = version + 1 WHERE id = ?", sessionId);
    live.mirroredActiveAt = now;
    this.deps.mirrorBy(now + 60_000);
  }
}
