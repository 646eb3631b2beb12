import type { EndingReason } from "./dashboard";

/**
 * The rows behind each dashboard figure, across users, newest first, one bounded page at a time.
 * Each page walks one index over its range and stops at `limit` (test/db/dashboard-indexes.test.ts
 * checks the plans); pages continue after an opaque (time, id) position. The index is named
 * (INDEXED BY) so that statistics cannot move a page onto another index and a sort.
 */

export interface Position {
  at: number;
  id: string;
}

export interface EventFilter {
  type: string;
  /** With a notice answer type (`risk_acknowledged`, `takeover_reported`): only answers about this finding. */
  finding?: string | undefined;
  from: number;
  to: number;
  after?: Position | undefined;
  limit: number;
}

export interface AdminEventRow {
  id: string;
  user_id: string;
  email: string | null;
  type: string;
  session_id: string | null;
  created_at: number;
  details: string;
}

/** Served by security_events_type_created_idx (type, created_at, id): a range, read backwards. */
export const EVENTS_PAGE = `SELECT e.id, e.user_id, u.email, e.type, e.session_id, e.created_at, e.details
  FROM security_events AS e INDEXED BY security_events_type_created_idx LEFT JOIN users AS u ON u.id = e.user_id
  WHERE e.type = ?1 AND e.created_at >= ?2 AND e.created_at < ?3 AND (e.created_at, e.id) < (?4, ?5)
    AND (?6 IS NULL OR EXISTS (SELECT 1 FROM json_each(e.details, '$.findings') WHERE value = ?6))
  ORDER BY e.created_at DESC, e.id DESC LIMIT ?7`;

export async function adminEvents(db: D1Database, filter: EventFilter): Promise<AdminEventRow[]> {
  const after = filter.after ?? { at: Number.MAX_SAFE_INTEGER, id: "\u{10FFFF}" };
  const { results } = await db
    .prepare(EVENTS_PAGE)
    .bind(filter.type, filter.from, filter.to, after.at, after.id, filter.finding ?? null, filter.limit)
    .all<AdminEventRow>();
  return results;
}

export interface SessionFilter {
  state: "live" | "ended";
  deviceType?: string | undefined;
  browser?: string | undefined;
  os?: string | undefined;
  country?: string | undefined;
  /** Ended sessions only: a revoke reason, `expired` or `idle`. */
  reason?: EndingReason | undefined;
  /** Live: started in [from, to). Ended: ended in [from, to). */
  from: number;
  to: number;
  after?: Position | undefined;
  limit: number;
  now: number;
  idleTimeoutMs: number;
}

export interface AdminSessionRow {
  id: string;
  user_id: string;
  email: string | null;
  device_name: string | null;
  browser: string | null;
  os: string | null;
  device_type: string | null;
  ip: string | null;
  country: string | null;
  city: string | null;
  binding: string;
  created_at: number;
  last_active_at: number;
  expires_at: number;
  revoked_at: number | null;
  revoked_reason: string | null;
  revoked_by: string | null;
  confirmed_at: number | null;
  /** The page order: live, when it expires; ended, when it ended. */
  at: number;
  ending: string | null;
}

const COLUMNS = `s.id, s.user_id, u.email, s.device_name, s.browser, s.os, s.device_type, s.ip, s.country, s.city, s.binding,
  s.created_at, s.last_active_at, s.expires_at, s.revoked_at, s.revoked_reason, s.revoked_by, s.confirmed_at`;
// `?N IS NULL OR …`: an absent filter; every filtered column is in the index the part walks.
const DIMENSIONS = `(?1 IS NULL OR s.device_type = ?1) AND (?2 IS NULL OR s.browser = ?2) AND (?3 IS NULL OR s.os = ?3)
  AND (?4 IS NULL OR s.country = ?4)`;

/**
 * `?1`–`?4` the dimensions, `?5` from, `?6` to, `?7`/`?8` the position, `?9` limit, `?10` now,
 * `?11` the idle timeout, `?12` the revoke reason (ended, revoked part).
 */
export const SESSION_QUERIES = {
  /**
   * Live sessions, latest expiry first (with one absolute lifetime, that is newest first), through
   * sessions_unrevoked_expires_idx; from/to bound when they started.
   */
  live: `SELECT ${COLUMNS}, s.expires_at AS at, NULL AS ending FROM sessions AS s INDEXED BY sessions_unrevoked_expires_idx
    LEFT JOIN users AS u ON u.id = s.user_id
    WHERE s.revoked_at IS NULL AND s.expires_at > ?10 AND (s.expires_at, s.id) < (?7, ?8)
      AND s.created_at >= ?5 AND s.created_at < ?6 AND s.last_active_at > ?10 - ?11 AND ${DIMENSIONS}
    ORDER BY s.expires_at DESC, s.id DESC LIMIT ?9`,
  /** Revoked sessions, by when they were revoked, through sessions_ended_idx. */
  revoked: `SELECT ${COLUMNS}, s.revoked_at AS at, s.revoked_reason AS ending FROM sessions AS s INDEXED BY sessions_ended_idx
    LEFT JOIN users AS u ON u.id = s.user_id
    WHERE s.revoked_at >= ?5 AND s.revoked_at < min(?6, ?10 + 1) AND (s.revoked_at, s.id) < (?7, ?8)
      AND (?12 IS NULL OR s.revoked_reason = ?12) AND ${DIMENSIONS}
    ORDER BY s.revoked_at DESC, s.id DESC LIMIT ?9`,
  /** Sessions that reached their absolute lifetime while in use, through sessions_unrevoked_expires_idx. */
  expired: `SELECT ${COLUMNS}, s.expires_at AS at, 'expired' AS ending FROM sessions AS s INDEXED BY sessions_unrevoked_expires_idx
    LEFT JOIN users AS u ON u.id = s.user_id
    WHERE s.revoked_at IS NULL AND s.expires_at >= ?5 AND s.expires_at < min(?6, ?10 + 1) AND (s.expires_at, s.id) < (?7, ?8)
      AND s.last_active_at + ?11 >= s.expires_at AND ${DIMENSIONS}
    ORDER BY s.expires_at DESC, s.id DESC LIMIT ?9`,
  /** Sessions that went unused for the idle timeout, ending at last use + timeout, through sessions_unrevoked_active_idx. */
  idle: `SELECT ${COLUMNS}, s.last_active_at + ?11 AS at, 'idle' AS ending FROM sessions AS s INDEXED BY sessions_unrevoked_active_idx
    LEFT JOIN users AS u ON u.id = s.user_id
    WHERE s.revoked_at IS NULL AND s.last_active_at >= ?5 - ?11 AND s.last_active_at < min(?6, ?10 + 1) - ?11
      AND (s.last_active_at, s.id) < (?7 - ?11, ?8) AND s.last_active_at + ?11 < s.expires_at AND ${DIMENSIONS}
    ORDER BY s.last_active_at DESC, s.id DESC LIMIT ?9`,
} as const;

export async function adminSessions(db: D1Database, filter: SessionFilter): Promise<AdminSessionRow[]> {
  const after = filter.after ?? { at: Number.MAX_SAFE_INTEGER, id: "\u{10FFFF}" };
  const bind = (sql: string, reason: string | null = null) =>
    db
      .prepare(sql)
      .bind(
        filter.deviceType ?? null,
        filter.browser ?? null,
        filter.os ?? null,
        filter.country ?? null,
        filter.from,
        filter.to,
        after.at,
        after.id,
        filter.limit,
        filter.now,
        filter.idleTimeoutMs,
        ...(sql === SESSION_QUERIES.revoked ? [reason] : []),
      );
  let parts: D1PreparedStatement[];
  if (filter.state === "live") parts = [bind(SESSION_QUERIES.live)];
  else if (filter.reason === "expired") parts = [bind(SESSION_QUERIES.expired)];
  else if (filter.reason === "idle") parts = [bind(SESSION_QUERIES.idle)];
  else if (filter.reason !== undefined) parts = [bind(SESSION_QUERIES.revoked, filter.reason)];
  else parts = [bind(SESSION_QUERIES.revoked), bind(SESSION_QUERIES.expired), bind(SESSION_QUERIES.idle)];
  // Ended without a reason: each part is already its own newest `limit`, so the newest `limit` of all three are among them.
  // One batch (one round trip); each row's email comes by the users primary key.
  const results = await db.batch<AdminSessionRow>(parts);
  return results
    .flatMap((result) => result.results)
    .sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .slice(0, filter.limit);
}
