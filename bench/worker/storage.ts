import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { cleanupTargets, deleteBatch } from "../../src/db/cleanup";
import { users } from "../../src/db/schema";
import { sessionHistory, upsertMirrorRow } from "../../src/db/session-mirror";
import { configFrom } from "../../src/shared/config";
import { randomId } from "../../src/shared/encoding";
import { userWithSessions } from "./setup";

const PER_REQUEST_D1_CHECK = "SELECT revoked_at, expires_at FROM sessions WHERE id = ?";

/** A D1 stand-in that records the statement a repository function prepares, so its plan can be explained. */
async function capture(call: (db: D1Database) => Promise<unknown>): Promise<{ sql: string; params: unknown[] }> {
  let captured: { sql: string; params: unknown[] } | undefined;
  const statement = (sql: string) => ({
    bind: (...params: unknown[]) => {
      captured = { sql, params };
      return statement(sql);
    },
    all: async () => ({ results: [], meta: { changes: 0 } }),
    run: async () => ({ results: [], meta: { changes: 0 } }),
    first: async () => null,
  });
  await call({ prepare: statement } as unknown as D1Database);
  if (!captured) throw new Error("no statement captured");
  return captured;
}

/** `EXPLAIN QUERY PLAN` of every hot D1 query, with the SQL exactly as the code sends it. */
export async function queryPlans(env: BenchEnv) {
  const orm = drizzle(env.DB);
  const now = Date.now();
  const queries: { name: string; sql: string; params: unknown[]; note?: string }[] = [
    { name: "users by email (login)", ...orm.select().from(users).where(eq(users.email, "a@example.com")).toSQL() },
    {
      name: "users by id (/v1/me, password change)",
      ...orm
        .select()
        .from(users)
        .where(eq(users.id, randomId("usr")))
        .toSQL(),
    },
    {
      name: "session mirror upsert (registry outbox)",
      ...upsertMirrorRow(orm, { id: randomId("ses"), userId: randomId("usr"), createdAt: now, lastActiveAt: now, expiresAt: now }).toSQL(),
      note: "SQLite prints no plan for an INSERT: there is no scan. The ON CONFLICT target is the primary key, whose unique index (sqlite_autoindex_sessions_1) decides the conflict in one probe.",
    },
    {
      name: "cleanup delete (bounded batch, expired sessions)",
      ...(await capture((db) => deleteBatch(db, cleanupTargets(now, configFrom(env))[0]!, 500))),
    },
    {
      name: "cleanup delete (bounded batch, revoked sessions)",
      ...(await capture((db) => deleteBatch(db, cleanupTargets(now, configFrom(env))[1]!, 500))),
    },
    {
      name: "admin listing by user (ended sessions from D1; live ones come from the registry)",
      ...(await capture((db) => sessionHistory(db, randomId("usr"), now))),
    },
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
 * Fills the D1 mirror with `expired` rows past the cleanup cutoff (realistic widths, beside the live
 * rows already there), then runs the cleanup job's own batch (`deleteBatch` of the `expired_sessions`
 * target, CLEANUP_BATCH_SIZE rows) until nothing is left, timing each batch.
 */
export async function cleanupPass(env: BenchEnv, expired: number) {
  const now = Date.now();
  const config = configFrom(env);
  const target = cleanupTargets(now, config).find((t) => t.name === "expired_sessions")!;
  const cutoff = now - config.sessionHistoryMs;
  const fillStarted = performance.now();
  await env.DB.prepare(
    `INSERT INTO sessions (id, user_id, device_name, browser, os, device_type, user_agent, ip, country, region, city,
       latitude, longitude, colo, asn, created_at, last_active_at, expires_at)
     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
     SELECT printf('ses_expired%011d_%010d', i, ?), printf('usr_expired%011d', i % 5000), 'Chrome on Windows', 'Chrome', 'Windows', 'desktop',
       'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
       '203.0.113.' || (i % 250), 'DE', 'Berlin', 'Berlin', 52.52, 13.4, 'FRA', 3320,
       ? - 40 * 86400000, ? - 10 * 86400000, ? - 1 - i
     FROM n`,
  )
    .bind(expired, now % 1e10, cutoff, cutoff, cutoff)
    .run();
  const fillMs = performance.now() - fillStarted;
  const batches: { ms: number; deleted: number }[] = [];
  for (;;) {
    const started = performance.now();
    const deleted = await deleteBatch(env.DB, target, config.cleanupBatchSize);
    batches.push({ ms: performance.now() - started, deleted });
    if (deleted < config.cleanupBatchSize) break;
  }
  const remainingExpired = (await env.DB.prepare(`SELECT count(*) AS n FROM sessions WHERE ${target.where}`)
    .bind(...target.params)
    .first<{ n: number }>())!.n;
  return { expired, batchSize: config.cleanupBatchSize, maxBatchesPerRun: config.cleanupMaxBatches, fillMs, batches, remainingExpired };
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
    const device = {
      name: "Chrome on Windows",
      browser: "Chrome",
      os: "Windows",
      type: "desktop",
      userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    };
    const place = {
      ip: "203.0.113.7",
      country: "DE",
      region: "Berlin",
      city: "Berlin",
      latitude: 52.52,
      longitude: 13.4,
      colo: "FRA",
      asn: 3320,
    };
    for (; total < step; total++) {
      const created = await stub.signIn({ userId: empty.userId, sessionId: randomId("ses"), device, place, credentialsSeenAt: 0 });
      if (!created.ok) throw new Error(`${created.code}: raise MAX_SESSIONS in bench/wrangler.jsonc`);
    }
    points.push({ sessions: total, storageBytes: await stub.storageBytes() });
  }
  return points;
}
