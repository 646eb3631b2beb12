/**
 * The user a registry belongs to, and the account-wide state it enforces: an operator's disable
 * flag and when the credentials last changed. Both are checked in the same synchronous step as a
 * sign-in, so they live beside the sessions, not in D1.
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

  disable(now: number): void {
    this.sql.exec("UPDATE account SET disabled_at = coalesce(disabled_at, ?)", now);
    this.#disabledAt ??= now;
  }

  enable(): void {
    this.sql.exec("UPDATE account SET disabled_at = NULL");
    this.#disabledAt = null;
  }
}
