import type { AccountWrite } from "../db/users";

/**
 * The user a registry belongs to, and the account-wide state it enforces: an operator's disable
 * flag and when the credentials last changed. Both are checked in the same synchronous step as a
 * sign-in, so they live beside the sessions, not in D1. The D1 copies of both (the user's
 * password hash and `disabled_at`) are written from here, through the outbox: recorded in the
 * transaction of the change, so a crash between the change and the D1 write loses nothing.
 */
export class RegistryAccount {
  #userId: string | null;
  #disabledAt: number | null;

  constructor(private readonly sql: SqlStorage) {
    this.#userId = (sql.exec("SELECT value FROM meta WHERE key = 'user_id'").toArray()[0]?.value as string) ?? null;
    this.#disabledAt = sql.exec<{ disabled_at: number | null }>("SELECT disabled_at FROM account").one().disabled_at;
  }

  /** Null until the first sign-in names the user. */
  get userId(): string | null {
    return this.#userId;
  }

  /** Set by an operator: no session is created or live while it is. */
  get disabled(): boolean {
    return this.#disabledAt !== null;
  }

  /** The first sign-in names the registry's user; any other user's id here is a routing bug. */
  claim(userId: string): void {
    if (this.#userId === null) {
      this.sql.exec("INSERT INTO meta (key, value) VALUES ('user_id', ?)", userId);
      this.#userId = userId;
    } else if (this.#userId !== userId) {
      throw new Error("registry addressed with another user's id");
    }
  }

  /** When the password last changed (0 if never): a sign-in that checked it before then is stale. */
  credentialsChangedAt(): number {
    return Number(this.sql.exec("SELECT value FROM meta WHERE key = 'credentials_changed_at'").toArray()[0]?.value ?? 0);
  }

  /** Records a password change; the time only grows, so a late, older report changes nothing. */
  credentialsChanged(at: number): void {
    this.sql.exec(
      "INSERT INTO meta (key, value) VALUES ('credentials_changed_at', ?) ON CONFLICT (key) DO UPDATE SET value = max(CAST(value AS INTEGER), excluded.value)",
      String(at),
    );
  }

  /** When the account was disabled, or null. */
  get disabledAt(): number | null {
    return this.#disabledAt;
  }

  /** Disables the account and queues the flag for D1; false when it already was (nothing changes). */
  disable(now: number): boolean {
    if (this.#disabledAt !== null) return false;
    this.sql.exec("UPDATE account SET disabled_at = ?, disabled_pending = 1", now);
    this.#disabledAt = now;
    return true;
  }

  /** Enables the account and queues the flag for D1; false when it was not disabled. */
  enable(): boolean {
    if (this.#disabledAt === null) return false;
    this.sql.exec("UPDATE account SET disabled_at = NULL, disabled_pending = 1");
    this.#disabledAt = null;
    return true;
  }

  /** Queues a new password hash for D1 (the latest change wins; see `settled`). */
  passwordPending(hash: string, at: number): void {
    this.sql.exec("UPDATE account SET pending_password_hash = ?, pending_password_at = ?", hash, at);
  }

  /** What D1 still lacks of this account, or null when it has everything. */
  pendingWrite(): AccountWrite | null {
    const row = this.sql
      .exec<{
        pending_password_hash: string | null;
        pending_password_at: number | null;
        disabled_pending: number;
        disabled_at: number | null;
      }>("SELECT pending_password_hash, pending_password_at, disabled_pending, disabled_at FROM account")
      .one();
    const password = row.pending_password_hash !== null ? { hash: row.pending_password_hash, at: row.pending_password_at! } : null;
    const disabled = row.disabled_pending === 1 ? { at: row.disabled_at } : null;
    return password || disabled ? { password, disabled } : null;
  }

  /** D1 has `write`: clears what it carried, unless a newer change was queued meanwhile. */
  settled(write: AccountWrite): void {
    // The hash itself leaves this storage once D1 holds it (docs/storage-schema.md).
    if (write.password)
      this.sql.exec(
        "UPDATE account SET pending_password_hash = NULL, pending_password_at = NULL WHERE pending_password_at = ?",
        write.password.at,
      );
    if (write.disabled) this.sql.exec("UPDATE account SET disabled_pending = 0 WHERE disabled_at IS ?", write.disabled.at);
  }
}
