import { describe, expect, it } from "vitest";
import { history, liveSessionIds, login, signedInFrom } from "../../support/devices";
import { expectProblem, me, refresh, signUp } from "../../support/http";
import { configure } from "../../support/registry";

describe("the evict_oldest session-limit policy", () => {
  it("should sign out the longest-standing session, even if it was used most recently, when a sign-in goes over max_sessions", async () => {
    const first = await signUp();
    await configure(first.userId, { MAX_SESSIONS: "3", SESSION_LIMIT_POLICY: "evict_oldest" });
    const second = await signedInFrom(await login(first.email, { device: "phone" }), first.email);
    const third = await signedInFrom(await login(first.email, { device: "tablet" }), first.email);
    expect((await me(first.accessToken)).status).toBe(200); // the oldest is also the most recently used

    const fourth = await signedInFrom(await login(first.email), first.email);

    await expectProblem(await me(first.accessToken), 401, "invalid_token");
    await expectProblem(await refresh(first.refreshToken), 401, "invalid_refresh_token");
    expect((await liveSessionIds(fourth.accessToken)).sort()).toEqual([second.sessionId, third.sessionId, fourth.sessionId].sort());
    const revoked = (await history(fourth.accessToken)).find((event) => event.type === "session_revoked");
    expect(revoked).toMatchObject({
      session_id: first.sessionId,
      details: { reason: "session_limit", revoked_by: "policy", by_session_id: fourth.sessionId },
    });
  });
});
