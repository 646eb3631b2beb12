import type { DbscKey, DbscRegistration, DbscRegistrationRefusal } from "../contract/dbsc";
import { base64url, randomBytes } from "../shared/encoding";
import type { RegistryRow } from "./schema";

/** Registration follows the sign-in answer at once (Chromium 156: within 0.3 s); five minutes spare a slow device. */
const REGISTRATION_CHALLENGE_MS = 5 * 60_000;
/**
 * A refresh challenge is sent ahead on every registration and refresh answer, so the next refresh
 * needs no 403 round trip: it must outlive the cookie it will renew, and a little more.
 */
const REFRESH_CHALLENGE_MARGIN_MS = 5 * 60_000;
/** Outstanding challenges per session: a flood of proof-less requests replaces the oldest, never grows the table. */
const MAX_CHALLENGES_PER_SESSION = 8;
/** One event of each kind per session per this long: the evidence, not a flood of it. */
const EVENT_INTERVAL_MS = { rejected: 60_000, skipped: 10 * 60_000 } as const;
/**
 * The bound cookie's Max-Age ends this long before the server's deadline: the browser stops sending
 * it (and refreshes) while a request it sent in the cookie's last second can still arrive in time.
 */
export const DBSC_COOKIE_MARGIN_MS = 5_000;

type Purpose = "registration" | "refresh";

/**
 * The user's DBSC state (docs/dbsc.md): each bound session's public key and the deadline of its
 * refresh cookie (columns of `sessions`), and the challenges its browser signs (`dbsc_challenges`).
 * Challenges are stored, not kept in memory: a refresh comes minutes after the challenge sent ahead
 * for it, long after an idle object has been evicted. They are not secrets (the browser signs them
 * in the open; a registration also needs the session's refresh cookie), so they are stored as sent.
 */
export class DeviceBoundSessions {
  readonly #lastEvent = new Map<string, number>();

  constructor(
    private readonly sql: SqlStorage,
    private readonly cookieMs: () => number,
  ) {}

  /** The key a session is bound to, or null for a session DBSC has not bound. */
  keyOf(row: Pick<RegistryRow, "dbsc_key">): DbscKey | null {
    return row.dbsc_key === null ? null : (JSON.parse(row.dbsc_key) as DbscKey);
  }

  /** A new single-use challenge for the session; the oldest outstanding ones make room. */
  issue(sessionId: string, purpose: Purpose, now: number): string {
    const challenge = base64url(randomBytes(18));
    const ttl = purpose === "registration" ? REGISTRATION_CHALLENGE_MS : this.cookieMs() + REFRESH_CHALLENGE_MARGIN_MS;
    this.sql.exec(
      `DELETE FROM dbsc_challenges WHERE session_id = ? AND (expires_at <= ? OR challenge NOT IN
         (SELECT challenge FROM dbsc_challenges WHERE session_id = ? ORDER BY expires_at DESC LIMIT ?))`,
      sessionId,
      now,
      sessionId,
      MAX_CHALLENGES_PER_SESSION - 1,
    );
    this.sql.exec(
      "INSERT INTO dbsc_challenges (challenge, session_id, purpose, expires_at) VALUES (?, ?, ?, ?)",
      challenge,
      sessionId,
      purpose,
      now + ttl,
    );
    return challenge;
  }

  /** Consumes a challenge: true when it was outstanding, unexpired, this session's and for this purpose. */
  take(sessionId: string, purpose: Purpose, challenge: string | null, now: number): boolean {
    if (challenge === null) return false;
    const taken = this.sql
      .exec(
        "DELETE FROM dbsc_challenges WHERE challenge = ? AND session_id = ? AND purpose = ? AND expires_at > ? RETURNING challenge",
        challenge,
        sessionId,
        purpose,
        now,
      )
      .toArray();
    return taken.length === 1;
  }

  /**
   * A registration for a live session whose refresh cookie came with it: refused when the proof
   * was not valid, when the session is bound already (one key for its whole life), or when the proof
   * did not sign one of this session's registration challenges; otherwise the session is bound, its
   * cookie deadline set, and the challenge consumed. Null when bound. Inside the caller's transaction.
   */
  register(row: RegistryRow, registration: DbscRegistration, now: number): DbscRegistrationRefusal | null {
    if (registration.key === undefined) return "invalid_proof";
    if (row.dbsc_key !== null) return "already_bound";
    if (!this.take(row.id, "registration", registration.jti, now)) return "stale_challenge";
    this.sql.exec(
      "UPDATE sessions SET binding = 'dbsc', dbsc_key = ?, dbsc_until = ?, version = version + 1 WHERE id = ?",
      JSON.stringify(registration.key),
      this.deadlineFrom(now),
      row.id,
    );
    return null;
  }

  /** A valid proof of the key: the cookie is accepted for another DBSC_COOKIE_SECONDS. */
  renew(sessionId: string, now: number): void {
    this.sql.exec("UPDATE sessions SET dbsc_until = ? WHERE id = ?", this.deadlineFrom(now), sessionId);
  }

  /** Whether a bound session's cookie is past its deadline: whatever expiry a client set on it, the server's holds. */
  cookieLapsed(row: Pick<RegistryRow, "dbsc_key" | "dbsc_until">, now: number): boolean {
    return row.dbsc_key !== null && now >= (row.dbsc_until ?? 0);
  }

  /** When the refresh cookie should expire in the browser: the session's end, or a bound session's deadline less the margin. */
  cookieExpiresAt(row: Pick<RegistryRow, "expires_at" | "dbsc_until">): number {
    return row.dbsc_until === null ? row.expires_at : Math.min(row.expires_at, row.dbsc_until - DBSC_COOKIE_MARGIN_MS);
  }

  /** The deadline a proof made now sets: what `renew` and `register` write. */
  deadlineFrom(now: number): number {
    return now + this.cookieMs();
  }

  /** Whether an event of `kind` about the session should be recorded now. */
  shouldRecord(kind: keyof typeof EVENT_INTERVAL_MS, sessionId: string, now: number): boolean {
    const key = `${kind}:${sessionId}`;
    const last = this.#lastEvent.get(key);
    if (last !== undefined && now - last < EVENT_INTERVAL_MS[kind]) return false;
    if (this.#lastEvent.size >= 1024) this.#lastEvent.clear();
    this.#lastEvent.set(key, now);
    return true;
  }

  /** A session ended: its challenges can never be used. */
  forget(sessionId: string): void {
    this.sql.exec("DELETE FROM dbsc_challenges WHERE session_id = ?", sessionId);
  }

  prune(now: number): void {
    this.sql.exec("DELETE FROM dbsc_challenges WHERE expires_at <= ?", now);
  }
}
