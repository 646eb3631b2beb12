import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Accounts. Emails are stored trimmed and lower-cased, so the unique index is case-insensitive in effect. */
export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  email: text("email").notNull().unique(),
  passwordHash: text("password_hash").notNull(),
  createdAt: integer("created_at", { mode: "number" }).notNull(),
  passwordChangedAt: integer("password_changed_at", { mode: "number" }),
  // Set by an operator (admin API): sign-in is refused. The user's registry holds the same flag
  // and is what refuses sessions; this column is what login and admin listings read.
  disabledAt: integer("disabled_at", { mode: "number" }),
});

/**
 * The D1 mirror of every session: what listing across users, admin and analytics need.
 * The user's Durable Object is the authority on liveness and writes these rows through its outbox;
 * nothing on the request path reads this table. Times are epoch milliseconds.
 */
export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    // No foreign key: the mirror must be able to land whatever order D1 sees writes in.
    userId: text("user_id").notNull(),
    deviceName: text("device_name"),
    browser: text("browser"),
    os: text("os"),
    deviceType: text("device_type"),
    userAgent: text("user_agent"),
    ip: text("ip"),
    country: text("country"),
    region: text("region"),
    city: text("city"),
    latitude: real("latitude"),
    longitude: real("longitude"),
    colo: text("colo"),
    asn: integer("asn"),
    createdAt: integer("created_at", { mode: "number" }).notNull(),
    lastActiveAt: integer("last_active_at", { mode: "number" }).notNull(),
    expiresAt: integer("expires_at", { mode: "number" }).notNull(),
    revokedAt: integer("revoked_at", { mode: "number" }),
    revokedReason: text("revoked_reason"),
    revokedBy: text("revoked_by"),
    // "none", "dpop" (later "dbsc"): what the session is bound to for its whole life (never changes).
    binding: text("binding").notNull().default("none"),
    // When the registry learnt the sign-in's answer reached its client (or the session was used);
    // null while it may not have (a crash between the session and its answer): shown unconfirmed.
    confirmedAt: integer("confirmed_at", { mode: "number" }),
  },
  (table) => [
    // A user's live sessions, most recently active first (admin listing).
    index("sessions_user_live_idx").on(table.userId, table.revokedAt, table.lastActiveAt),
    // Expiry cleanup walks these in bounded batches.
    index("sessions_expires_idx").on(table.expiresAt),
    index("sessions_revoked_idx").on(table.revokedAt).where(sql`${table.revokedAt} IS NOT NULL`),
    // Admin stats (db/stats.ts; each query's plan is checked in test/ops/stats-indexes.test.ts).
    // Live rows are a small part of the table, so these are partial and the group-bys are covered.
    index("sessions_live_expires_idx").on(table.expiresAt).where(sql`${table.revokedAt} IS NULL`),
    index("sessions_live_device_idx").on(table.deviceType, table.expiresAt).where(sql`${table.revokedAt} IS NULL`),
    index("sessions_live_country_idx").on(table.country, table.expiresAt).where(sql`${table.revokedAt} IS NULL`),
    index("sessions_created_idx").on(table.createdAt),
    index("sessions_revoked_reason_idx").on(table.revokedReason, table.revokedAt).where(sql`${table.revokedAt} IS NOT NULL`),
    // The admin dashboard and its drill-downs (db/dashboard.ts, db/admin-listing.ts; plans checked in
    // test/db/dashboard-indexes.test.ts). Unrevoked rows by expiry cover the live counts by every
    // dimension and the expiries; by last use, the idle endings; revoked rows by time, the revocations.
    // `id` follows the time so a page continues after (time, id) without sorting. `revoked_at` (always
    // null in the first two) is there because SQLite counts an index covering only if it holds every
    // column the query names, the partial index's own condition included.
    index("sessions_unrevoked_expires_idx")
      .on(
        table.expiresAt,
        table.id,
        table.lastActiveAt,
        table.createdAt,
        table.deviceType,
        table.browser,
        table.os,
        table.country,
        table.revokedAt,
      )
      .where(sql`${table.revokedAt} IS NULL`),
    index("sessions_unrevoked_active_idx")
      .on(table.lastActiveAt, table.id, table.expiresAt, table.createdAt, table.revokedAt)
      .where(sql`${table.revokedAt} IS NULL`),
    index("sessions_ended_idx")
      .on(table.revokedAt, table.id, table.revokedReason, table.createdAt)
      .where(sql`${table.revokedAt} IS NOT NULL`),
  ],
);

/**
 * Every user's security history, written only by the registry's outbox (insert-or-ignore on `id`,
 * so a retried batch adds nothing twice). `details` is the event's JSON evidence. Kept for
 * SECURITY_EVENT_RETENTION_DAYS; the listing hides older rows and a cleanup job deletes them by
 * `created_at`. Times are epoch milliseconds.
 */
export const securityEvents = sqliteTable(
  "security_events",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    type: text("type").notNull(),
    sessionId: text("session_id"),
    createdAt: integer("created_at", { mode: "number" }).notNull(),
    details: text("details").notNull(),
  },
  (table) => [
    // A user's history, newest first, paged by (created_at, id).
    index("security_events_user_created_idx").on(table.userId, sql`${table.createdAt} DESC`, sql`${table.id} DESC`),
    // Retention cleanup deletes by age across all users.
    index("security_events_created_idx").on(table.createdAt),
    // The dashboard's series and top accounts, and the cross-user drill-down by type, newest first.
    index("security_events_type_created_idx").on(table.type, table.createdAt, table.id, table.userId),
  ],
);

/**
 * The D1 mirror of every account's passkeys: what admin listing needs, written only by the
 * registry's outbox (the registry holds the credentials and is what sign-in reads). No public key
 * here. Keyed by user and credential id: an authenticator picks its credential ids, so one user's
 * id must never overwrite another's row. A removed passkey's row is deleted. Times are epoch ms.
 */
export const passkeys = sqliteTable(
  "passkeys",
  {
    userId: text("user_id").notNull(),
    id: text("id").notNull(),
    name: text("name").notNull(),
    backupEligible: integer("backup_eligible", { mode: "boolean" }).notNull(),
    backedUp: integer("backed_up", { mode: "boolean" }).notNull(),
    // JSON array of AuthenticatorTransport hints.
    transports: text("transports").notNull(),
    aaguid: text("aaguid").notNull(),
    createdAt: integer("created_at", { mode: "number" }).notNull(),
    lastUsedAt: integer("last_used_at", { mode: "number" }),
  },
  (table) => [primaryKey({ columns: [table.userId, table.id] })],
);

export type UserRow = typeof users.$inferSelect;
export type SecurityEventRow = typeof securityEvents.$inferInsert;
export type SessionMirrorRow = typeof sessions.$inferInsert;
