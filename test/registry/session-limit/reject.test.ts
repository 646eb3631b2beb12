import { describe, expect, it } from "vitest";
import { history, liveSessionIds, login, signedInFrom } from "../../support/devices";
import { call, expectProblem, me, signUp } from "../../support/http";
import { configure } from "../../support/registry";

describe("the reject session-limit policy", () => {
  it("should refuse a sign-in beyond max_sessions with 409 session_limit_reached that names no session, and keep every existing one", async () => {
    const first = await signUp();
    await configure(first.userId, { MAX_SESSIONS: "2", SESSION_LIMIT_POLICY: "reject" });
    const second = await signedInFrom(await login(first.email, { device: "phone" }), first.email);

    const refused = await login(first.email, { device: "tablet" });
    expect(refused.headers.get("Set-Cookie")).toBeNull();
    const problem = (await expectProblem(refused, 409, "session_limit_reached")) as any;
    expect(problem.max_sessions).toBe(2);
    const text = JSON.stringify(problem);
    for (const secret of [first.sessionId, second.sessionId, first.userId, "access_token", "refresh_token", "Chrome"])
      expect(text).not.toContain(secret);

    expect((await me(first.accessToken)).status).toBe(200);
    expect((await liveSessionIds(second.accessToken)).sort()).toEqual([first.sessionId, second.sessionId].sort());
    const refusal = (await history(first.accessToken)).find((event) => event.type === "sign_in_refused");
    expect(refusal).toMatchObject({ session_id: null, details: { reason: "session_limit", max_sessions: 2, device: { os: "Android" } } });
  });

  it("should let a sign-in through again once a device signs out", async () => {
    const first = await signUp();
    await configure(first.userId, { MAX_SESSIONS: "2", SESSION_LIMIT_POLICY: "reject" });
    const second = await signedInFrom(await login(first.email), first.email);
    await expectProblem(await login(first.email), 409, "session_limit_reached");
    expect((await call("/v1/auth/logout", { method: "POST", token: second.accessToken })).status).toBe(204);
    expect((await login(first.email)).status).toBe(200);
  });
});
