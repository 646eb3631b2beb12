import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SESSION_QUERIES } from "../../src/db/admin-listing";
import { DASHBOARD_QUERIES, dashboardWindow, highestParam, windowParams } from "../../src/db/dashboard";

/** The `detail` lines of SQLite's plan. */
async function plan(sql: string, params: unknown[]): Promise<string[]> {
  const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .bind(...params)
    .all<{ detail: string }>();
  return results.map((row) => row.detail);
}

/**
 * Every read of sessions or security_events is a SEARCH: a range of an index, never the whole table
 * nor a whole index (`SCAN … USING INDEX` reads every row the partial index holds). Aggregates
 * must also be covered: the index alone answers them, no table row is read.
 */
function expectIndexed(details: string[], covering: boolean) {
  // The drill-downs alias the tables (`s`, `e`).
  const reads = details.filter((d) => /^(SCAN|SEARCH) (sessions|security_events|s|e)\b/.test(d));
  expect(reads.length).toBeGreaterThan(0);
  for (const read of reads) expect(read).toMatch(covering ? /^SEARCH \w+ USING COVERING INDEX/ : /^SEARCH \w+ USING (COVERING )?INDEX/);
}

const now = Date.now();
const w = dashboardWindow(now, 14 * 86_400_000);

describe("indexes behind the admin dashboard and its drill-downs", () => {
  for (const [name, sql] of Object.entries(DASHBOARD_QUERIES)) {
    it(`should answer the dashboard's ${name} query from a covering index range, never a full scan`, async () => {
      expectIndexed(await plan(sql, windowParams(w).slice(0, highestParam(sql))), true);
    });
  }

  for (const [name, sql] of Object.entries(SESSION_QUERIES)) {
    it(`should page the ${name} sessions through an index, without sorting`, async () => {
      const params = [null, null, null, null, now - 86_400_000, now, Number.MAX_SAFE_INTEGER, "\u{10FFFF}", 51, now, 14 * 86_400_000];
      const details = await plan(sql, name === "revoked" ? [...params, null] : params);
      expectIndexed(details, false);
      // A temp B-tree would sort every matching row before LIMIT: the index order must be the page order.
      expect(details.filter((d) => d.includes("TEMP B-TREE"))).toEqual([]);
    });
  }

  it("should page security events of one type through an index, without sorting", async () => {
    const { EVENTS_PAGE } = await import("../../src/db/admin-listing");
    const details = await plan(EVENTS_PAGE, ["signed_in", 0, now, Number.MAX_SAFE_INTEGER, "\u{10FFFF}", null, 51]);
    expectIndexed(details, false);
    expect(details.filter((d) => d.includes("TEMP B-TREE"))).toEqual([]);
  });
});
