import { CEREMONY_TIMEOUT_MS, type PasskeyView } from "../contract/passkeys";
import { base64url, randomBytes } from "../shared/encoding";
import type { PasskeyRow } from "./schema";
import type { NewCredential } from "./webauthn";

export type CeremonyPurpose = "registration" | "reauthentication";

/**
 * The account's passkeys and its ceremony challenges, in the registry's SQLite. Every change to a
 * passkey bumps `version`, which queues it for the D1 mirror (outbox.ts) like a session row; a
 * removed passkey stays as a tombstone until D1 has seen the removal. Callers run the writes
 * inside the registry's transaction for the change they belong to.
 */
export class PasskeyStore {
  constructor(private readonly sql: SqlStorage) {}

  /** The account's passkeys, oldest first. */
  list(): PasskeyRow[] {
    return this.sql.exec<PasskeyRow>("SELECT * FROM passkeys WHERE removed_at IS NULL ORDER BY created_at, id").toArray();
  }

  /** By credential id, as the assertion's `response.id` names it (WebAuthn §7.2: the RP looks it up). */
  find(id: string): PasskeyRow | undefined {
    return this.sql.exec<PasskeyRow>("SELECT * FROM passkeys WHERE id = ? AND removed_at IS NULL", id).toArray()[0];
  }

  count(): number {
    return Number(this.sql.exec("SELECT count(*) AS n FROM passkeys WHERE removed_at IS NULL").one().n);
  }

  /** Stores a verified credential; undefined if the account already holds one with this id. */
  add(credential: NewCredential, name: string, now: number): PasskeyRow | undefined {
    // A tombstone of the same credential (removed, not yet mirrored) is brought back rather than duplicated.
    return this.sql
      .exec<PasskeyRow>(
        `INSERT INTO passkeys (id, name, public_key, counter, transports, backup_eligible, backed_up, aaguid, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, public_key = excluded.public_key, counter = excluded.counter,
           transports = excluded.transports, backup_eligible = excluded.backup_eligible, backed_up = excluded.backed_up,
           aaguid = excluded.aaguid, created_at = excluded.created_at, last_used_at = NULL, removed_at = NULL, version = version + 1
         WHERE passkeys.removed_at IS NOT NULL
         RETURNING *`,
        credential.id,
        name,
        credential.publicKey,
        credential.counter,
        JSON.stringify(credential.transports),
        credential.backupEligible ? 1 : 0,
        credential.backedUp ? 1 : 0,
        credential.aaguid,
        now,
      )
      .toArray()[0];
  }

  rename(id: string, name: string): PasskeyRow | undefined {
    return this.sql
      .exec<PasskeyRow>("UPDATE passkeys SET name = ?, version = version + 1 WHERE id = ? AND removed_at IS NULL RETURNING *", name, id)
      .toArray()[0];
  }

  remove(id: string, now: number): PasskeyRow | undefined {
    return this.sql
      .exec<PasskeyRow>(
        "UPDATE passkeys SET removed_at = ?, version = version + 1 WHERE id = ? AND removed_at IS NULL RETURNING *",
        now,
        id,
      )
      .toArray()[0];
  }

  /** A verified use: the new counter and backup state; false if the passkey was removed meanwhile. */
  used(id: string, counter: number, backedUp: boolean, now: number): boolean {
    return (
      this.sql
        .exec(
          `UPDATE passkeys SET counter = ?, backed_up = ?, last_used_at = ?, version = version + 1
           WHERE id = ? AND removed_at IS NULL RETURNING id`,
          counter,
          backedUp ? 1 : 0,
          now,
          id,
        )
        .toArray().length === 1
    );
  }

  // ---- the D1 mirror ------------------------------------------------------------------------

  unmirrored(): PasskeyRow[] {
    return this.sql.exec<PasskeyRow>("SELECT * FROM passkeys WHERE version > mirrored_version").toArray();
  }

  markMirrored(rows: readonly PasskeyRow[]): void {
    for (const row of rows)
      this.sql.exec("UPDATE passkeys SET mirrored_version = max(mirrored_version, ?) WHERE id = ?", row.version, row.id);
    this.sql.exec("DELETE FROM passkeys WHERE removed_at IS NOT NULL AND version = mirrored_version");
  }

  requeueAll(): void {
    this.sql.exec("UPDATE passkeys SET mirrored_version = 0");
  }

  // ---- challenges -----------------------------------------------------------------------------

  /** A fresh challenge for one session and purpose; it replaces the previous one, so each session holds at most two. */
  issue(sessionId: string, purpose: CeremonyPurpose, now: number): string {
    this.pruneChallenges(now);
    const challenge = base64url(randomBytes(32));
    this.sql.exec(
      "INSERT OR REPLACE INTO webauthn_challenges (session_id, purpose, challenge, expires_at) VALUES (?, ?, ?, ?)",
      sessionId,
      purpose,
      challenge,
      now + CEREMONY_TIMEOUT_MS,
    );
    return challenge;
  }

  /** Takes the session's challenge for this purpose, if it has an unexpired one: a second take finds nothing. */
  take(sessionId: string, purpose: CeremonyPurpose, now: number): string | null {
    const row = this.sql
      .exec<{ challenge: string; expires_at: number }>(
        "DELETE FROM webauthn_challenges WHERE session_id = ? AND purpose = ? RETURNING challenge, expires_at",
        sessionId,
        purpose,
      )
      .toArray()[0];
    return row && row.expires_at > now ? row.challenge : null;
  }

  /** Records a signed sign-in challenge as used; false if it already was. Kept until it would expire anyway. */
  spendSignInChallenge(challenge: string, expiresAt: number, now: number): boolean {
    this.pruneChallenges(now);
    return (
      this.sql
        .exec(
          "INSERT OR IGNORE INTO spent_sign_in_challenges (challenge, expires_at) VALUES (?, ?) RETURNING challenge",
          challenge,
          expiresAt,
        )
        .toArray().length === 1
    );
  }

  pruneChallenges(now: number): void {
    this.sql.exec("DELETE FROM webauthn_challenges WHERE expires_at <= ?", now);
    this.sql.exec("DELETE FROM spent_sign_in_challenges WHERE expires_at <= ?", now);
  }
}

export function passkeyView(row: PasskeyRow): PasskeyView {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    backedUp: row.backed_up === 1,
    transports: JSON.parse(row.transports),
  };
}

/** The WebAuthn user handle of an account: its user id's bytes (random, not personal data; WebAuthn §14.6.1). */
export function userHandleOf(userId: string): string {
  return base64url(new TextEncoder().encode(userId));
}
