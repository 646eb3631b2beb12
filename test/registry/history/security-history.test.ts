import { afterEach, describe, expect, it, vi } from "vitest";
import { type EventJson, history } from "../../support/devices";
import { call, expectProblem, PASSWORD, refresh, signInOn } from "../../support/http";

afterEach(() => {
  vi.useRealTimers();
});

describe("the security history", () => {
  it("should show refresh-token reuse and the session it ended, revoked by reuse detection", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    const rotated = await refresh(phone!.refreshToken);
    expect(rotated.status).toBe(200);
    vi.useFakeTimers({ now: Date.now() + 11_000, toFake: ["Date"] });
    await expectProblem(await refresh(phone!.refreshToken), 401, "invalid_refresh_token");

    const events = await history(laptop!.accessToken);
    const [revoked, reuse] = events;
    expect(reuse).toMatchObject({
      type: "refresh_token_reuse",
      session_id: phone!.sessionId,
      details: { presented_generation: 0, current_generation: 1, device: { os: "iOS" } },
    });
    expect(revoked).toMatchObject({
      type: "session_revoked",
      session_id: phone!.sessionId,
      details: { reason: "refresh_token_reuse", revoked_by: "reuse_detection", by_session_id: null },
    });
  });

  it("should say who ended each session, and record a password change, newest first", async () => {
    const [laptop, phone, tablet] = await signInOn("laptop", "phone", "tablet");
    expect((await call(`/v1/sessions/${phone!.sessionId}`, { method: "DELETE", token: laptop!.accessToken })).status).toBe(204);
    expect(
      (
        await call("/v1/auth/password", {
          method: "POST",
          token: laptop!.accessToken,
          json: { current_password: PASSWORD, new_password: "another long passphrase" },
        })
      ).status,
    ).toBe(204);
    const events = await history(laptop!.accessToken);
    const summary = events
      .filter((e) => e.type !== "signed_in" && e.type !== "new_device")
      .map((e) => [e.type, e.session_id, e.details.revoked_by ?? null]);
    expect(summary).toEqual([
      ["password_changed", laptop!.sessionId, null],
      ["session_revoked", tablet!.sessionId, "password_change"],
      ["session_revoked", phone!.sessionId, "other_device"],
    ]);
    expect(events[0]!.details.other_sessions_signed_out).toBe(1);
    expectNewestFirst(events);
  });

  it("should page with an opaque cursor, without gaps or repeats", async () => {
    const [laptop] = await signInOn("laptop", "phone", "tablet", "laptop", "phone");
    const all = await history(laptop!.accessToken);
    expect(all.length).toBeGreaterThanOrEqual(7);
    const paged: EventJson[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response = await call(`/v1/security-events?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, {
        token: laptop!.accessToken,
      });
      const page = (await response.json()) as { events: EventJson[]; next_cursor: string | null };
      expect(page.events.length).toBeLessThanOrEqual(2);
      paged.push(...page.events);
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(Math.ceil(all.length / 2));
    expect(paged.map((e) => e.id)).toEqual(all.map((e) => e.id));
  });

  it("should list only the caller's own user's events", async () => {
    const [mine] = await signInOn("laptop");
    const [theirs] = await signInOn("phone");
    const ids = new Set((await history(mine!.accessToken)).map((e) => e.session_id));
    expect(ids).toEqual(new Set([mine!.sessionId]));
    expect((await history(theirs!.accessToken)).every((e) => e.session_id === theirs!.sessionId)).toBe(true);
  });

  it("should refuse a missing or revoked token with 401, and a bad limit or cursor with 400", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    await expectProblem(await call("/v1/security-events"), 401, "invalid_token");
    await call("/v1/auth/logout", { method: "POST", token: phone!.accessToken });
    await expectProblem(await call("/v1/security-events", { token: phone!.accessToken }), 401, "invalid_token");
    for (const query of ["limit=0", "limit=101", "limit=abc", "cursor=nonsense", `cursor=${"A".repeat(300)}`, "cursor=eyJ0IjoxfQ"]) {
      await expectProblem(await call(`/v1/security-events?${query}`, { token: laptop!.accessToken }), 400, "validation_failed");
    }
    await expectProblem(await call("/v1/security-events", { method: "POST", token: laptop!.accessToken }), 405, "method_not_allowed");
  });
});

function expectNewestFirst(events: EventJson[]) {
  for (let i = 1; i < events.length; i++) {
    expect(events[i - 1]!.created_at >= events[i]!.created_at).toBe(true);
  }
}
