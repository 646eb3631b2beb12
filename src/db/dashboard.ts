import type { RevokeReason, RiskFinding, SecurityEventType } from "../contract/wire";

/**
 * The admin dashboard's aggregates over D1 (docs/operations.md, the dashboard; docs/scaling.md says
 * what moves to Analytics Engine at scale). Every query is named and exported so
 * test/db/dashboard-indexes.test.ts can EXPLAIN it: each walks an index over a bounded range of
 * time, never the whole of `sessions` or `security_events`. They run as one D1 batch.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
export const HOURS = 24;
export const DAYS = 30;
/** Endings and lifetimes cover the sessions that ended in this window. */
export const ENDINGS_WINDOW_DAYS = 30;
/** The busiest and riskiest accounts: this many, over the last 24 hours. */
export const TOP_ACCOUNTS = 10;
/** Distinct values listed per live dimension (browsers, countries…), most sessions first. */
export const LIVE_KEYS = 100;

/** Each series and the security event type it counts (one event per occurrence, written by the registry). */
export const SERIES_EVENTS = {
  sign_ins: "signed_in",
  failed_sign_ins: "sign_in_failed",
  new_devices: "new_device",
  impossible_travel: "impossible_travel",
  network_change: "session_network_changed",
  refresh_token_reuse: "refresh_token_reuse",
  // One per session ended before its time, whatever the reason (reuse included).
  revocations: "session_revoked",
} as const satisfies Record<string, SecurityEventType>;
export type SeriesKey = keyof typeof SERIES_EVENTS;

export const RISK_FINDING_TYPES: readonly RiskFinding[] = ["new_device", "impossible_travel", "session_network_changed"];

/** Every way a session ends: the registry's revoke reasons, `reconciled` (ops/reconcile), and the two expiries. */
export const REVOKE_REASONS: readonly (RevokeReason | "reconciled")[] = [
  "signed_out",
  "revoked_by_other_device",
  "signed_out_everywhere",
  "password_changed",
  "refresh_token_reuse",
  "session_limit",
  "takeover_reported",
  "admin",
  "service",
  "reconciled",
];
export const EXPIRY_REASONS = ["expired", "idle"] as const;
export type EndingReason = (typeof REVOKE_REASONS)[number] | (typeof EXPIRY_REASONS)[number];
export const ENDING_REASONS: readonly EndingReason[] = [...REVOKE_REASONS, ...EXPIRY_REASONS];

/** Upper bounds of the lifetime buckets, in seconds; the last bucket is open (null). */
export const LIFETIME_BUCKETS: ReadonlyArray<[key: string, upToSeconds: number | null]> = [
  ["under_1h", 3600],
  ["1h_to_1d", 86_400],
  ["1d_to_7d", 7 * 86_400],
  ["7d_to_30d", 30 * 86_400],
  ["30d_or_more", null],
];
const bucketCase = `CASE ${LIFETIME_BUCKETS.filter(([, upTo]) => upTo !== null)
  .map(([key, upTo]) => `WHEN lifetime < ${upTo! * 1000} THEN '${key}'`)
  .join(" ")} ELSE '30d_or_more' END`;

const seriesTypes = Object.values(SERIES_EVENTS)
  .map((type) => `'${type}'`)
  .join(", ");
const findingTypes = RISK_FINDING_TYPES.map((type) => `'${type}'`).join(", ");

/**
 * Live, as D1 can tell it: not revoked, not past its absolute lifetime, and used within the idle
 * timeout. D1's `last_active_at` trails the registry's by up to ACTIVITY_MIRROR_INTERVAL (an hour),
 * so a session within that hour of its idle deadline may already count as idle here.
 */
const LIVE = "revoked_at IS NULL AND expires_at > ?1 AND last_active_at > ?1 - ?2";
// Named, not left to the planner: the older partial indexes (db/stats.ts) would serve these
// without `last_active_at`, reading each row, or walk expired rows too. INDEXED BY fails loudly if
// the index ever stops fitting the query.
const UNREVOKED = "sessions INDEXED BY sessions_unrevoked_expires_idx";
const liveBy = (column: string) =>
  `SELECT ${column} AS key, count(*) AS n FROM ${UNREVOKED} WHERE ${LIVE} GROUP BY ${column} ORDER BY n DESC, key LIMIT ${LIVE_KEYS}`;

/**
 * The statements, with their parameters: `?1` now, `?2` the idle timeout (ms), `?3` the start of
 * the hourly series, `?4` the start of the daily series, `?5` the start of the endings window.
 * Series buckets are whole UTC hours and days; the last one is the current hour or day. D1 binds a
 * JavaScript number as REAL, so a bucket number is cast back to an integer.
 */
export const DASHBOARD_QUERIES = {
  hourly: `SELECT type, CAST((created_at - ?3) / ${HOUR_MS} AS INTEGER) AS bucket, count(*) AS n FROM security_events
    WHERE type IN (${seriesTypes}) AND created_at >= ?3 AND created_at <= ?1 GROUP BY type, bucket`,
  daily: `SELECT type, CAST((created_at - ?4) / ${DAY_MS} AS INTEGER) AS bucket, count(*) AS n FROM security_events
    WHERE type IN (${seriesTypes}) AND created_at >= ?4 AND created_at <= ?1 GROUP BY type, bucket`,
  liveTotal: `SELECT count(*) AS n FROM ${UNREVOKED} WHERE ${LIVE}`,
  liveByDeviceType: liveBy("device_type"),
  liveByBrowser: liveBy("browser"),
  liveByOs: liveBy("os"),
  liveByCountry: liveBy("country"),
  // How sessions ended in the window: revoked (its reason), reached its absolute lifetime while in
  // use (`expired`), or went unused for the idle timeout first (`idle`, ending at last use + timeout).
  endings: `SELECT revoked_reason AS key, count(*) AS n FROM sessions
      WHERE revoked_at > ?5 AND revoked_at <= ?1 GROUP BY revoked_reason
    UNION ALL
    SELECT 'expired', count(*) FROM ${UNREVOKED}
      WHERE revoked_at IS NULL AND expires_at > ?5 AND expires_at <= ?1 AND last_active_at + ?2 >= expires_at
    UNION ALL
    SELECT 'idle', count(*) FROM sessions
      WHERE revoked_at IS NULL AND last_active_at > ?5 - ?2 AND last_active_at <= ?1 - ?2 AND last_active_at + ?2 < expires_at`,
  lifetimes: `SELECT ${bucketCase} AS key, count(*) AS n FROM (
      SELECT revoked_at - created_at AS lifetime FROM sessions WHERE revoked_at > ?5 AND revoked_at <= ?1
      UNION ALL
      SELECT expires_at - created_at FROM ${UNREVOKED}
        WHERE revoked_at IS NULL AND expires_at > ?5 AND expires_at <= ?1 AND last_active_at + ?2 >= expires_at
      UNION ALL
      SELECT last_active_at + ?2 - created_at FROM sessions
        WHERE revoked_at IS NULL AND last_active_at > ?5 - ?2 AND last_active_at <= ?1 - ?2 AND last_active_at + ?2 < expires_at
    ) GROUP BY key`,
  busiest: `SELECT t.user_id AS user_id, u.email AS email, t.n AS n FROM (
      SELECT user_id, count(*) AS n FROM security_events WHERE type = 'signed_in' AND created_at > ?1 - ${DAY_MS} AND created_at <= ?1
      GROUP BY user_id ORDER BY n DESC, user_id LIMIT ${TOP_ACCOUNTS}
    ) AS t LEFT JOIN users AS u ON u.id = t.user_id ORDER BY t.n DESC, t.user_id`,
  riskiest: `SELECT t.user_id AS user_id, u.email AS email, t.n AS n FROM (
      SELECT user_id, count(*) AS n FROM security_events WHERE type IN (${findingTypes}) AND created_at > ?1 - ${DAY_MS} AND created_at <= ?1
      GROUP BY user_id ORDER BY n DESC, user_id LIMIT ${TOP_ACCOUNTS}
    ) AS t LEFT JOIN users AS u ON u.id = t.user_id ORDER BY t.n DESC, t.user_id`,
} as const;

export interface DashboardWindow {
  now: number;
  idleTimeoutMs: number;
  hourlyStart: number;
  dailyStart: number;
  endingsStart: number;
}

/** The windows of a dashboard computed at `now`: the last bucket of each series is the current hour or day (UTC). */
export function dashboardWindow(now: number, idleTimeoutMs: number): DashboardWindow {
  return {
    now,
    idleTimeoutMs,
    hourlyStart: Math.floor(now / HOUR_MS) * HOUR_MS - (HOURS - 1) * HOUR_MS,
    dailyStart: Math.floor(now / DAY_MS) * DAY_MS - (DAYS - 1) * DAY_MS,
    endingsStart: now - ENDINGS_WINDOW_DAYS * DAY_MS,
  };
}

export const windowParams = (w: DashboardWindow) => [w.now, w.idleTimeoutMs, w.hourlyStart, w.dailyStart, w.endingsStart];

type Series = Record<SeriesKey, number[]>;
export interface TopAccount {
  user_id: string;
  email: string | null;
  n: number;
}
export interface DashboardData {
  hourly: Series;
  daily: Series;
  live: {
    total: number;
    byDeviceType: Record<string, number>;
    byBrowser: Record<string, number>;
    byOs: Record<string, number>;
    byCountry: Record<string, number>;
  };
  endings: Record<string, number>;
  lifetimes: Record<string, number>;
  busiest: TopAccount[];
  riskiest: TopAccount[];
}

type Row = Record<string, unknown>;

/** One D1 batch (one round trip) for every figure. */
export async function dashboardData(db: D1Database, w: DashboardWindow): Promise<DashboardData> {
  const q = DASHBOARD_QUERIES;
  // Each statement binds only the parameters it names: D1 refuses extra ones.
  const params = windowParams(w);
  const order = [
    q.hourly,
    q.daily,
    q.liveTotal,
    q.liveByDeviceType,
    q.liveByBrowser,
    q.liveByOs,
    q.liveByCountry,
    q.endings,
    q.lifetimes,
    q.busiest,
    q.riskiest,
  ];
  const results = await db.batch<Row>(order.map((sql) => db.prepare(sql).bind(...params.slice(0, highestParam(sql)))));
  const rows = (i: number) => results[i]?.results ?? [];
  const byKey = (i: number, keys: readonly string[] = []) => {
    const out: Record<string, number> = Object.fromEntries(keys.map((key) => [key, 0]));
    for (const row of rows(i)) {
      const key = (row.key as string | null) ?? "unknown";
      out[key] = (out[key] ?? 0) + Number(row.n);
    }
    return out;
  };
  const top = (i: number): TopAccount[] =>
    rows(i).map((row) => ({ user_id: String(row.user_id), email: (row.email as string | null) ?? null, n: Number(row.n) }));
  return {
    hourly: series(rows(0), HOURS),
    daily: series(rows(1), DAYS),
    live: {
      total: Number(rows(2)[0]?.n ?? 0),
      byDeviceType: byKey(3),
      byBrowser: byKey(4),
      byOs: byKey(5),
      byCountry: byKey(6),
    },
    endings: byKey(7, ENDING_REASONS),
    lifetimes: byKey(
      8,
      LIFETIME_BUCKETS.map(([key]) => key),
    ),
    busiest: top(9),
    riskiest: top(10),
  };
}

/** The highest `?N` a statement uses. */
export function highestParam(sql: string): number {
  return Math.max(0, ...[...sql.matchAll(/\?(\d)/g)].map((match) => Number(match[1])));
}

function series(rows: Row[], length: number): Series {
  const keyOf = new Map(Object.entries(SERIES_EVENTS).map(([key, type]) => [type as string, key as SeriesKey]));
  const out = Object.fromEntries(Object.keys(SERIES_EVENTS).map((key) => [key, new Array<number>(length).fill(0)])) as Series;
  for (const row of rows) {
    const key = keyOf.get(String(row.type));
    const bucket = Number(row.bucket);
    if (key && bucket >= 0 && bucket < length) out[key][bucket]! += Number(row.n);
  }
  return out;
}
