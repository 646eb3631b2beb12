import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { cleanupTargets } from "../../src/db/cleanup";
import { STATS_QUERIES } from "../../src/db/stats";

/** The `detail` lines of SQLite's plan; a bare `SCAN sessions` is a full table scan. */
async function plan(sql: string, params: unknown[]): Promise<string[]> {
  const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .bind(...params)
    .all<{ detail: string }>();
  return results.map((row) => row.detail);
}

describe("indexes behind the admin stats and the cleanup", () => {
  for (const [name, sql] of Object.entries(STATS_QUERIES)) {
    it(`should answer the ${name} stats query from an index, never a full scan of sessions`, async () => {
      const details = await plan(sql, [Date.now()]);
      expect(details.some((d) => /sessions USING (COVERING )?INDEX/.test(d))).toBe(true);
      expect(details.filter((d) => /^SCAN sessions$/.test(d))).toEqual([]);
    });
  }

  for (const target of cleanupTargets(Date.now(), { sessionHistoryMs: 0, securityEventRetentionMs: 0 }).filter(
    (t) => t.table === "sessions",
  )) {
    it(`should find the ${target.name} cleanup batch through an index`, async () => {
      const details = await plan(`SELECT rowid FROM ${target.table} WHERE ${target.where} LIMIT ?`, [...target.params, 500]);
      expect(details.some((d) => /sessions USING (COVERING )?INDEX/.test(d))).toBe(true);
      expect(details.filter((d) => /^SCAN sessions$/.test(d))).toEqual([]);
    });
  }
});
