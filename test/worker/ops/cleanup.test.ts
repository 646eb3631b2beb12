import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../../src/index";
import { type CleanupReport, runCleanup } from "../../../src/worker/ops/cleanup";

const DAY_MS = 86_400_000;

afterEach(() => {
  vi.restoreAllMocks();
});

/** Mirror rows straight into D1, as many as needed, in one statement. */
async function insertSessions(prefix: string, count: number, times: { createdAt: number; expiresAt: number; revokedAt?: number | null }) {
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO sessions (id, user_id, device_name, created_at, last_active_at, expires_at, revoked_at, revoked_reason)
     SELECT ?2 || i, 'usr_cleanup', 'test', ?3, ?3, ?4, ?5, CASE WHEN ?5 IS NULL THEN NULL ELSE 'signed_out' END FROM n`,
  )
    .bind(count, `ses_${prefix}_`, times.createdAt, times.expiresAt, times.revokedAt ?? null)
    .run();
}
const countLike = async (prefix: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM sessions WHERE id LIKE ?").bind(`ses_${prefix}_%`).first<{ n: number }>())!.n;

async function runScheduled(now: number): Promise<CleanupReport[]> {
  const log = vi.spyOn(console, "log");
  await worker.scheduled(createScheduledController({ scheduledTime: now, cron: "17 * * * *" }), env);
  const line = log.mock.calls.map(([text]) => String(text)).find((text) => text.includes('"msg":"cleanup finished"'));
  log.mockRestore();
  return JSON.parse(line!).reports;
}

describe("the cleanup cron", () => {
  it("should remove 5,000 expired sessions across several batches and leave live and recently ended ones", async () => {
    const now = Date.now();
    await insertSessions("old", 5000, { createdAt: now - 90 * DAY_MS, expiresAt: now - 60 * DAY_MS });
    await insertSessions("live", 5, { createdAt: now - DAY_MS, expiresAt: now + 29 * DAY_MS });
    // Ended inside SESSION_HISTORY_DAYS (30): kept for history and stats.
    await insertSessions("recent", 3, { createdAt: now - 40 * DAY_MS, expiresAt: now - 10 * DAY_MS });
    await insertSessions("revoked_recently", 2, { createdAt: now - 5 * DAY_MS, expiresAt: now + 25 * DAY_MS, revokedAt: now - DAY_MS });

    const reports = await runScheduled(now);

    const expired = reports.find((r) => r.target === "expired_sessions")!;
    expect(expired).toMatchObject({ deleted: 5000, complete: true });
    expect(expired.batches).toBeGreaterThan(5); // 500 a batch by default
    expect(await countLike("old")).toBe(0);
    expect(await countLike("live")).toBe(5);
    expect(await countLike("recent")).toBe(3);
    expect(await countLike("revoked_recently")).toBe(2);
  });

  it("should remove sessions revoked longer ago than the history window, though not yet expired", async () => {
    const now = Date.now();
    await insertSessions("long_revoked", 4, { createdAt: now - 40 * DAY_MS, expiresAt: now + 5 * DAY_MS, revokedAt: now - 35 * DAY_MS });
    const reports = await runScheduled(now);
    expect(reports.find((r) => r.target === "revoked_sessions")).toMatchObject({ deleted: 4, complete: true });
    expect(await countLike("long_revoked")).toBe(0);
  });

  it("should stop at the batch cap and leave the rest to the next run, deleting nothing twice", async () => {
    const now = Date.now();
    await insertSessions("backlog", 450, { createdAt: now - 90 * DAY_MS, expiresAt: now - 60 * DAY_MS });
    const capped = { ...env, CLEANUP_BATCH_SIZE: "100", CLEANUP_MAX_BATCHES: "2" };

    const first = (await runCleanup(capped, now)).find((r) => r.target === "expired_sessions")!;
    expect(first).toEqual({ target: "expired_sessions", deleted: 200, batches: 2, complete: false });
    expect(await countLike("backlog")).toBe(250);
    await runCleanup(capped, now);
    const third = (await runCleanup(capped, now)).find((r) => r.target === "expired_sessions")!;
    expect(third).toMatchObject({ deleted: 50, complete: true });
    expect(await countLike("backlog")).toBe(0);
    // Idempotent: another run finds nothing.
    expect((await runCleanup(capped, now)).find((r) => r.target === "expired_sessions")).toMatchObject({ deleted: 0, complete: true });
  });

  it("should clean old security events once that table exists, and skip it before", async () => {
    const now = Date.now();
    const exists = await env.DB.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'security_events'").first();
    if (!exists) {
      const before = await runCleanup(env, now);
      expect(before.find((r) => r.target === "security_events")).toMatchObject({ skipped: "table_missing", deleted: 0 });
      await env.DB.exec("CREATE TABLE security_events (id TEXT PRIMARY KEY, user_id TEXT, type TEXT, created_at INTEGER NOT NULL)");
    }
    await insertEvents("old", 7, now - 100 * DAY_MS);
    await insertEvents("new", 2, now - DAY_MS);
    const reports = await runCleanup(env, now);
    expect(reports.find((r) => r.target === "security_events")).toMatchObject({ deleted: 7, complete: true });
    const left = await env.DB.prepare("SELECT count(*) AS n FROM security_events WHERE created_at = ?")
      .bind(now - DAY_MS)
      .first<{ n: number }>();
    expect(left!.n).toBe(2);
  });
});

/** Fills whatever required columns the real table has (it belongs to another feature), unique where it may matter. */
async function insertEvents(label: string, count: number, createdAt: number) {
  const { results: columns } = await env.DB.prepare(
    "SELECT name, type, \"notnull\" AS required, dflt_value, pk FROM pragma_table_info('security_events')",
  ).all<{
    name: string;
    type: string;
    required: number;
    dflt_value: unknown;
    pk: number;
  }>();
  const needed = columns.filter(
    (c) => c.name === "created_at" || ((c.required || c.pk) && c.dflt_value === null && !(c.pk && /int/i.test(c.type))),
  );
  for (let i = 0; i < count; i++) {
    const values = needed.map((c) =>
      c.name === "created_at" ? createdAt : /int|real|num/i.test(c.type) ? i : `${label}-${i}-${crypto.randomUUID()}`,
    );
    await env.DB.prepare(
      `INSERT INTO security_events (${needed.map((c) => `"${c.name}"`).join(", ")}) VALUES (${needed.map(() => "?").join(", ")})`,
    )
      .bind(...values)
      .run();
  }
}
