/**
 * The schema of a user's Durable Object (SQLite storage), versioned: each entry runs once, in order,
 * and `meta.schema_version` records how far this object has come. Entries are never edited after
 * they ship; a change is a new entry.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE sessions (
     id TEXT PRIMARY KEY,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     last_active_at INTEGER NOT NULL,
     revoked_at INTEGER,
     revoked_reason TEXT,
     revoked_by TEXT,
     refresh_generation INTEGER NOT NULL,
     refresh_hash BLOB NOT NULL,
     previous_refresh_hash BLOB,
     rotated_at INTEGER,
     device_name TEXT NOT NULL,
     browser TEXT,
     os TEXT,
     device_type TEXT,
     user_agent TEXT,
     ip TEXT,
     country TEXT,
     region TEXT,
     city TEXT,
     latitude REAL,
     longitude REAL,
     colo TEXT,
     asn INTEGER,
     version INTEGER NOT NULL DEFAULT 1,
     mirrored_version INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX sessions_unmirrored ON sessions (id) WHERE version > mirrored_version;`,
  // 2: security events (an outbox to D1 and to the webhook) and the devices a user has signed in
  // with, seeded from the sessions already here so an existing device is not "new".
  `CREATE TABLE events (
     id TEXT PRIMARY KEY,
     type TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     session_id TEXT,
     details TEXT NOT NULL,
     mirrored INTEGER NOT NULL DEFAULT 0,
     webhook_state TEXT,
     webhook_attempts INTEGER NOT NULL DEFAULT 0,
     webhook_next_at INTEGER
   );
   CREATE INDEX events_unmirrored ON events (created_at) WHERE mirrored = 0;
   CREATE INDEX events_webhook_due ON events (webhook_next_at) WHERE webhook_state = 'pending';
   CREATE TABLE known_devices (fingerprint TEXT PRIMARY KEY, first_seen_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL);
   INSERT OR IGNORE INTO known_devices (fingerprint, first_seen_at, last_seen_at)
     SELECT coalesce(browser, 'unknown') || '|' || coalesce(os, 'unknown') || '|' || coalesce(device_type, 'unknown'),
            min(created_at), max(last_active_at)
     FROM sessions GROUP BY 1;`,
  // 3: an operator can disable the account (admin API); while set, no session is created or live.
  `CREATE TABLE account (id INTEGER PRIMARY KEY CHECK (id = 1), disabled_at INTEGER);
   INSERT INTO account (id, disabled_at) VALUES (1, NULL);`,
  // 4: sessions bound to a key (DPoP, RFC 9449): what they are bound to, and the replay state's
  // high-water mark, which survives a restart (docs/storage-schema.md, "DPoP replay state").
  `ALTER TABLE sessions ADD COLUMN binding TEXT NOT NULL DEFAULT 'none';
   ALTER TABLE sessions ADD COLUMN dpop_jkt TEXT;
   CREATE TABLE dpop_replay (id INTEGER PRIMARY KEY CHECK (id = 1), accepted_until INTEGER NOT NULL);
   INSERT INTO dpop_replay (id, accepted_until) VALUES (1, 0);`,
  // 5: passkeys (WebAuthn) and step-up (RFC 9470). Each session keeps when and how the user last
  // proved who they are (existing sessions were all signed in with a password, at creation);
  // `passkeys` is the account's credentials, mirrored to D1 like sessions (`version`), with a
  // tombstone (`removed_at`) kept until D1 has seen the removal; `webauthn_challenges` holds each
  // session's single-use ceremony challenge, and `spent_sign_in_challenges` the signed sign-in
  // challenges already used here (src/shared/sign-in-challenge.ts), each until it would expire anyway.
  `ALTER TABLE sessions ADD COLUMN auth_time INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '["pwd"]';
   ALTER TABLE sessions ADD COLUMN sign_in_method TEXT NOT NULL DEFAULT 'password';
   UPDATE sessions SET auth_time = created_at;
   CREATE TABLE passkeys (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     public_key BLOB NOT NULL,
     counter INTEGER NOT NULL,
     transports TEXT NOT NULL,
     backup_eligible INTEGER NOT NULL,
     backed_up INTEGER NOT NULL,
     aaguid TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     last_used_at INTEGER,
     removed_at INTEGER,
     version INTEGER NOT NULL DEFAULT 1,
     mirrored_version INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE webauthn_challenges (
     session_id TEXT NOT NULL,
     purpose TEXT NOT NULL,
     challenge TEXT NOT NULL,
     expires_at INTEGER NOT NULL,
     PRIMARY KEY (session_id, purpose)
   );
   CREATE TABLE spent_sign_in_challenges (challenge TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);`,
  // 6: sessions bound by DBSC (docs/dbsc.md): the browser's public key, the deadline of the bound
  // refresh cookie, and the challenges the browser signs (single-use, short-lived, one session's).
  `ALTER TABLE sessions ADD COLUMN dbsc_key TEXT;
   ALTER TABLE sessions ADD COLUMN dbsc_until INTEGER;
   CREATE TABLE dbsc_challenges (
     challenge TEXT PRIMARY KEY,
     session_id TEXT NOT NULL,
     purpose TEXT NOT NULL,
     expires_at INTEGER NOT NULL
   );
   CREATE INDEX dbsc_challenges_by_session ON dbsc_challenges (session_id, expires_at);`,
  // 7: "was this you?" notices (src/registry/notices.ts): one row per risk finding, keyed by its
  // event id, with the device and place it was about and how it was answered (once).
  `CREATE TABLE risk_notices (
     id TEXT PRIMARY KEY,
     session_id TEXT NOT NULL,
     finding TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     device TEXT NOT NULL,
     location TEXT NOT NULL,
     answered_at INTEGER,
     answer TEXT,
     answered_via TEXT
   );
   CREATE INDEX risk_notices_open ON risk_notices (session_id) WHERE answered_at IS NULL;`,
  // 8: crash consistency (docs/storage-schema.md, "Crash consistency"). The account's own D1 writes
  // go through the outbox: a password change's new hash waits here until D1 has it, and
  // `disabled_pending` says D1's `disabled_at` lags the registry's. `confirmed_at` is when a
  // session was first used (existing sessions count as used): until then it is not listed.
  `ALTER TABLE account ADD COLUMN pending_password_hash TEXT;
   ALTER TABLE account ADD COLUMN pending_password_at INTEGER;
   ALTER TABLE account ADD COLUMN disabled_pending INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE sessions ADD COLUMN confirmed_at INTEGER;
   UPDATE sessions SET confirmed_at = created_at;`,
];

export function migrateRegistrySchema(sql: SqlStorage): void {
  const hasMeta = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").toArray().length > 0;
  let version = hasMeta ? Number(sql.exec("SELECT value FROM meta WHERE key = 'schema_version'").toArray()[0]?.value ?? 0) : 0;
  for (; version < MIGRATIONS.length; version++) {
    sql.exec(MIGRATIONS[version]!);
    sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", String(version + 1));
  }
}

/** A row of the `sessions` table as SQLite returns it. */
export type RegistryRow = {
  id: string;
  created_at: number;
  expires_at: number;
  last_active_at: number;
  revoked_at: number | null;
  revoked_reason: string | null;
  revoked_by: string | null;
  refresh_generation: number;
  refresh_hash: ArrayBuffer;
  previous_refresh_hash: ArrayBuffer | null;
  rotated_at: number | null;
  device_name: string;
  browser: string | null;
  os: string | null;
  device_type: string | null;
  user_agent: string | null;
  ip: string | null;
  country: string | null;
  region: string | null;
  city: string | null;
  latitude: number | null;
  longitude: number | null;
  colo: string | null;
  asn: number | null;
  /** "none", "dpop" or "dbsc": what the session is bound to (a DBSC key may join a DPoP one). */
  binding: string;
  /** For a DPoP-bound session, the RFC 7638 thumbprint of its key. */
  dpop_jkt: string | null;
  /** For a DBSC-bound session, the browser's public key (a `DbscKey` as JSON). */
  dbsc_key: string | null;
  /** For a DBSC-bound session, until when its refresh cookie is accepted (ms): the last proof of its key plus DBSC_COOKIE_SECONDS. */
  dbsc_until: number | null;
  version: number;
  mirrored_version: number;
  /** Epoch milliseconds of the session's latest proof (sign-in or step-up). */
  auth_time: number;
  /** JSON array of RFC 8176 values for that proof. */
  amr: string;
  sign_in_method: string;
  /** When the session was first used after its sign-in (null until then: its answer may never have reached the client). */
  confirmed_at: number | null;
};

/** A row of the `passkeys` table as SQLite returns it. */
export type PasskeyRow = {
  id: string;
  name: string;
  public_key: ArrayBuffer;
  counter: number;
  transports: string;
  backup_eligible: number;
  backed_up: number;
  aaguid: string;
  created_at: number;
  last_used_at: number | null;
  removed_at: number | null;
  version: number;
  mirrored_version: number;
};
