const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Lifetimes are measured over sessions that ended in this window (within SESSION_HISTORY_DAYS by default). */
export const LIFETIME_WINDOW_MS = 30 * DAY_MS;

/** Upper bounds of the lifetime buckets; the last bucket is open-ended. */
const LIFETIME_BUCKETS: ReadonlyArray<[label: string, upToMs: number]> = [
  ["under_1h", HOUR_MS],
  ["1h_to_1d", DAY_MS],
  ["1d_to_7d", 7 * DAY_MS],
  ["7d_to_30d", 30 * DAY_MS],
];
const bucketCase = `CASE ${LIFETIME_BUCKETS.map(([label, upTo]) => `WHEN lifetime < ${upTo} THEN '${label}'`).join(" ")} ELSE '30d_or_more' END`;

/**
 * Every admin stats query, over the D1 mirror. Named and exported so a test can EXPLAIN each one
 * and check it walks an index (test/ops/stats-indexes.test.ts); `?1` is always "now".
 */
export const STATS_QUERIES = {
  liveSessions: `SELECT count(*) AS n FROM sessions WHERE revoked_at IS NULL AND expires_at > ?1`,
  liveByDeviceType: `SELECT device_type AS key, count(*) AS n FROM sessions
    WHERE revoked_at IS NULL AND expires_at > ?1 GROUP BY device_type`,
  liveByCountry: `SELECT country AS key, count(*) AS n FROM sessions
    WHERE revoked_at IS NULL AND expires_at > ?1 GROUP BY country`,
  signInsLastDay: `SELECT count(*) AS n FROM sessions WHERE created_at > ?1 - ${DAY_MS}`,
  reuseDetectionsLastDay: `SELECT count(*) AS n FROM sessions
    WHERE revoked_reason = 'refresh_token_reuse' AND revoked_at > ?1 - ${DAY_MS}`,
  // Ended = revoked, or expired without being revoked; each half walks its own partial index.
  lifetimes: `SELECT ${bucketCase} AS key, count(*) AS n FROM (
      SELECT revoked_at - created_at AS lifetime FROM sessions
        WHERE revoked_at > ?1 - ${LIFETIME_WINDOW_MS} AND revoked_at <= ?1
      UNION ALL
      SELECT expires_at - created_at AS lifetime FROM sessions
        WHERE revoked_at IS NULL AND expires_at > ?1 - ${LIFETIME_WINDOW_MS} AND expires_at <= ?1
    ) GROUP BY key`,
} as const;

type Counted = { key: string | null; n: number };

export interface SessionStats {
  liveSessions: number;
  liveByDeviceType: Record<string, number>;
  liveByCountry: Record<string, number>;
  signInsLastDay: number;
  reuseDetectionsLastDay: number;
  lifetimes: Record<string, number>;
}

/** One D1 batch (one round trip) for all of them. */
export async function sessionStats(db: D1Database, now: number): Promise<SessionStats> {
  const q = STATS_QUERIES;
  const [live, byDevice, byCountry, signIns, reuse, lifetimes] = await db.batch<Counted>(
    [q.liveSessions, q.liveByDeviceType, q.liveByCountry, q.signInsLastDay, q.reuseDetectionsLastDay, q.lifetimes].map((sql) =>
      db.prepare(sql).bind(now),
    ),
  );
  const count = (result: D1Result<Counted> | undefined) => result?.results[0]?.n ?? 0;
  const byKey = (result: D1Result<Counted> | undefined, initial: Record<string, number> = {}) => {
    const out = { ...initial };
    for (const row of result?.results ?? []) out[row.key ?? "unknown"] = (out[row.key ?? "unknown"] ?? 0) + row.n;
    return out;
  };
  return {
    liveSessions: count(live),
    liveByDeviceType: byKey(byDevice),
    liveByCountry: byKey(byCountry),
    signInsLastDay: count(signIns),
    reuseDetectionsLastDay: count(reuse),
    lifetimes: byKey(lifetimes, Object.fromEntries([...LIFETIME_BUCKETS.map(([label]) => [label, 0]), ["30d_or_more", 0]])),
  };
}
