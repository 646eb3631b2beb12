import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { upsertMirrorRow } from "../../src/db/session-mirror";
import { users } from "../../src/db/schema";
import { randomId } from "../../src/encoding";
import { userWithSessions } from "./setup";

/** The cleanup statement: one bounded batch of expired mirror rows per run. */
export const CLEANUP_DELETE = "DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions WHERE expires_at < ? LIMIT ?)";
/** The admin listing of one user's live sessions, newest activity first. */
const ADMIN_LISTING =
  "SELECT * FROM sessions WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY last_active_at DESC LIMIT ?";
const PER_REQUEST_D1_CHECK = "SELECT revoked_at, expires_at FROM sessions WHERE id = ?";

/** `EXPLAIN QUERY PLAN` of every hot D1 query, with the SQL exactly as the code sends it. */
export async function queryPlans(env: BenchEnv) {
  const orm = drizzle(env.DB);
  const now = Date.now();
  const queries: { name: string; sql: string; params: unknown[]; note?: string }[] = [
    { name: "users by email (login)", ...orm.select().from(users).where(eq(users.email, "a@example.com")).toSQL() },
    { name: "users by id (/v1/me, password change)", ...orm.select().from(users).where(eq(users.id, randomId("usr"))).toSQL() },
    {
      name: "session mirror upsert (registry outbox)",
      ...upsertMirrorRow(orm, { id: randomId("ses"), userId: randomId("usr"), createdAt: now, lastActiveAt: now, expiresAt: now }).toSQL(),
      note: "SQLite prints no plan for an INSERT: there is no scan. The ON CONFLICT target is the primary key, whose unique index (sqlite_autoindex_sessions_1) decides the conflict in one probe.",
    },
    { name: "cleanup delete (bounded batch)", sql: CLEANUP_DELETE, params: [now, 1000] },
    { name: "admin listing by user", sql: ADMIN_LISTING, params: [randomId("usr"), now, 50] },
    { name: "per-request D1 check (the design measured as variant d1)", sql: PER_REQUEST_D1_CHECK, params: [randomId("ses")] },
  ];
  const plans = [];
  for (const query of queries) {
    const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${query.sql}`)
      .bind(...query.params)
      .all<{ detail: string }>();
    plans.push({ name: query.name, sql: query.sql, plan: results.map((row) => row.detail), ...(query.note ? { note: query.note } : {}) });
  }
  return plans;
}

/**
 * Fills the D1 mirror with `expired` expired rows (realistic widths, beside the live rows already
 * there), then deletes them in bounded batches the way a scheduled cleanup would, timing each batch.
 */
export async function cleanupPass(env: BenchEnv, expired: number, batchSize: number) {
  const now = Date.now();
  const fillStarted = performance.now();
  await env.DB.prepare(
    `INSERT INTO sessions (id, user_id, device_name, browser, os, device_type, user_agent, ip, country, region, city,
       latitude, longitude, colo, asn, created_at, last_active_at, expires_at, revoked_at, revoked_reason)
     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
     SELECT printf('ses_expired%011d_%010d', i, ?), printf('usr_expired%011d', i % 5000), 'Chrome on Windows', 'Chrome', 'Windows', 'desktop',
       'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
       '203.0.113.' || (i % 250), 'DE', 'Berlin', 'Berlin', 52.52, 13.4, 'FRA', 3320,
       ? - 40 * 86400000, ? - 10 * 86400000, ? - 86400000 - i, CASE WHEN i % 3 = 0 THEN ? - 5 * 86400000 END,
       CASE WHEN i % 3 = 0 THEN 'signed_out' END
     FROM n`,
  )
    .bind(expired, now % 1e10, now, now, now, now)
    .run();
  const fillMs = performance.now() - fillStarted;
  const batches: { ms: number; deleted: number }[] = [];
  for (;;) {
    const started = performance.now();
    const result = await env.DB.prepare(CLEANUP_DELETE).bind(now, batchSize).run();
    const deleted = result.meta.changes;
    batches.push({ ms: performance.now() - started, deleted });
    if (deleted < batchSize) break;
  }
  const remainingExpired = (await env.DB.prepare("SELECT count(*) AS n FROM sessions WHERE expires_at < ?").bind(now).first<{ n: number }>())!.n;
  return { expired, batchSize, fillMs, batches, remainingExpired };
}

/** SQLite bytes held by one user's registry as its live sessions grow. */
export async function registryFootprint(env: BenchEnv, request: Request, steps: number[]) {
  const namespace = env.MEASURED_REGISTRY;
  const points: { sessions: number; storageBytes: number }[] = [];
  const empty = await userWithSessions(env, 0, request, namespace);
  const stub = namespace.get(namespace.idFromName(empty.userId));
  points.push({ sessions: 0, storageBytes: await stub.storageBytes() });
  let total = 0;
  for (const step of steps) {
    const device = { name: "Chrome on Windows", browser: "Chrome", os: "Windows", type: "desktop", userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36" };
    const place = { ip: "203.0.113.7", country: "DE", region: "Berlin", city: "Berlin", latitude: 52.52, longitude: 13.4, colo: "FRA", asn: 3320 };
    for (; total < step; total++) {
      const created = await stub.createSession({ userId: empty.userId, sessionId: randomId("ses"), device, place });
      if (!created.ok) throw new Error(`${created.code}: raise MAX_SESSIONS in bench/wrangler.jsonc`);
    }
    points.push({ sessions: total, storageBytes: await stub.storageBytes() });
  }
  return points;
}
