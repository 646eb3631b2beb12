/**
 * How long a new session may stay unconfirmed before the alarm ends it. Confirmed means the Worker
 * handed its sign-in's answer to the runtime (`signInAnswered`, sent right after) or the session
 * was used (any call as itself, a refresh); so a client that first uses its tokens hours later is
 * not affected, and only a session whose answer died with its process is ended, within minutes.
 */
export const UNANSWERED_SIGN_IN_MS = 5 * 60_000;

/**
 * Sessions whose sign-in answer may never have reached anyone (the process died after the
 * registry committed the session and before the Worker answered): kept in memory, reloaded from
 * `sessions.confirmed_at IS NULL` after a restart, so confirming costs no storage read.
 */
export class UnansweredSignIns {
  readonly #pending = new Map<string, number>();

  constructor(
    private readonly sql: SqlStorage,
    now: number,
  ) {
    for (const row of sql.exec<{ id: string; created_at: number }>(
      "SELECT id, created_at FROM sessions WHERE confirmed_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
      now,
    )) {
      this.#pending.set(row.id, row.created_at);
    }
  }

  added(sessionId: string, createdAt: number): void {
    this.#pending.set(sessionId, createdAt);
  }

  /**
   * The answer left, or the session was used: one write, the first time only (true then). The row's
   * version moves, so D1 learns it too (its listing marks a session not yet confirmed).
   */
  confirm(sessionId: string, now: number): boolean {
    if (!this.#pending.delete(sessionId)) return false;
    this.sql.exec("UPDATE sessions SET confirmed_at = ?, version = version + 1 WHERE id = ? AND confirmed_at IS NULL", now, sessionId);
    return true;
  }

  /** The session ended some other way. */
  forget(sessionId: string): void {
    this.#pending.delete(sessionId);
  }

  /** The sessions past their deadline, and when the next one falls due (null when none waits). */
  due(now: number): { ids: string[]; next: number | null } {
    const ids: string[] = [];
    let next: number | null = null;
    for (const [id, createdAt] of this.#pending) {
      const deadline = createdAt + UNANSWERED_SIGN_IN_MS;
      if (deadline <= now) ids.push(id);
      else next = Math.min(next ?? deadline, deadline);
    }
    return { ids, next };
  }
}
