import { describe, expect, it } from "vitest";
import { history, liveSessionIds, login, signedInFrom } from "../../support/devices";
import { expectProblem, me, signUp } from "../../support/http";
import { configure, setRegistryClock } from "../../support/registry";

describe("the evict_least_recently_used session-limit policy", () => {
  it("should sign out the session unused for longest when a sign-in goes over max_sessions", async () => {
    const first = await signUp();
    await configure(first.userId, { MAX_SESSIONS: "3", SESSION_LIMIT_POLICY: "evict_least_recently_used" });
    const second = await signedInFrom(await login(first.email, { device: "phone" }), first.email);
    const third = await signedInFrom(await login(first.email, { device: "tablet" }), first.email);
    // A second later by the registry's clock, the first is used again: now the second is the least recently used.
    const later = Date.now() + 1000;
    await setRegistryClock(first.userId, () => later);
    expect((await me(first.accessToken)).status).toBe(200);

    const fourth = await signedInFrom(await login(first.email), first.email);

    await expectProblem(await me(second.accessToken), 401, "invalid_token");
    expect((await liveSessionIds(fourth.accessToken)).sort()).toEqual([first.sessionId, third.sessionId, fourth.sessionId].sort());
    const revoked = (await history(fourth.accessToken)).filter((event) => event.type === "session_revoked");
    expect(revoked.map((event) => [event.session_id, event.details.revoked_by])).toEqual([[second.sessionId, "policy"]]);
  });

  it("should be the default policy, with max_sessions 10", async () => {
    const first = await signUp();
    const others = [];
    for (let i = 0; i < 10; i++) others.push(await signedInFrom(await login(first.email), first.email));
    await expectProblem(await me(first.accessToken), 401, "invalid_token");
    expect(await liveSessionIds(others[9]!.accessToken)).toHaveLength(10);
  });
});
