import { afterEach, describe, expect, it, vi } from "vitest";
import { login, signedInFrom } from "../../support/devices";
import { expectProblem, me, refresh, signUp } from "../../support/http";
import { configure } from "../../support/registry";

afterEach(() => {
  vi.useRealTimers();
});

describe("the idle timeout", () => {
  it("should refuse an unexpired access token once its session has been idle for SESSION_IDLE_TIMEOUT_SECONDS", async () => {
    const account = await signUp();
    await configure(account.userId, { SESSION_IDLE_TIMEOUT_SECONDS: "300" });
    const start = Date.now();
    vi.useFakeTimers({ now: start, toFake: ["Date"] });
    const device = await signedInFrom(await login(account.email), account.email);
    vi.setSystemTime(start + 301_000); // the access token itself lives 600 s
    await expectProblem(await me(device.accessToken), 401, "invalid_token");
    await expectProblem(await refresh(device.refreshToken), 401, "invalid_refresh_token");
  });

  it("should keep a session that is used within the timeout alive, activity after activity", async () => {
    const account = await signUp();
    await configure(account.userId, { SESSION_IDLE_TIMEOUT_SECONDS: "300" });
    const start = Date.now();
    vi.useFakeTimers({ now: start, toFake: ["Date"] });
    const device = await signedInFrom(await login(account.email), account.email);
    vi.setSystemTime(start + 290_000);
    expect((await me(device.accessToken)).status).toBe(200);
    vi.setSystemTime(start + 580_000); // 580 s since sign-in, 290 s since the last request
    expect((await me(device.accessToken)).status).toBe(200);
  });

  it("should refuse a refresh token after the default fourteen idle days, though its thirty-day lifetime is not over", async () => {
    const device = await signUp();
    const start = Date.now();
    vi.useFakeTimers({ now: start + 13 * 86_400_000, toFake: ["Date"] });
    const rotated = (await (await refresh(device.refreshToken)).json()) as any;
    expect(rotated.refresh_token).toEqual(expect.any(String));
    vi.setSystemTime(start + 27 * 86_400_000 + 1000);
    await expectProblem(await refresh(rotated.refresh_token), 401, "invalid_refresh_token");
  });
});
