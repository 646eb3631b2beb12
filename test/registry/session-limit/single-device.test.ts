import { describe, expect, it } from "vitest";
import { liveSessionIds, login, signedInFrom } from "../../support/devices";
import { expectProblem, me, refresh, signUp } from "../../support/http";
import { configure } from "../../support/registry";

describe("single-device mode (max_sessions 1)", () => {
  it("should sign the old device out when another signs in, under an evicting policy", async () => {
    const laptop = await signUp();
    await configure(laptop.userId, { MAX_SESSIONS: "1", SESSION_LIMIT_POLICY: "evict_oldest" });
    const phone = await signedInFrom(await login(laptop.email, { device: "phone" }), laptop.email);
    await expectProblem(await me(laptop.accessToken), 401, "invalid_token");
    await expectProblem(await refresh(laptop.refreshToken), 401, "invalid_refresh_token");
    expect(await liveSessionIds(phone.accessToken)).toEqual([phone.sessionId]);
  });

  it("should refuse the new device and keep the old one signed in, under the reject policy", async () => {
    const laptop = await signUp();
    await configure(laptop.userId, { MAX_SESSIONS: "1", SESSION_LIMIT_POLICY: "reject" });
    await expectProblem(await login(laptop.email, { device: "phone" }), 409, "session_limit_reached");
    expect((await me(laptop.accessToken)).status).toBe(200);
    expect(await liveSessionIds(laptop.accessToken)).toEqual([laptop.sessionId]);
  });
});
