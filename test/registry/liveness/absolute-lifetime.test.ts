import { afterEach, describe, expect, it, vi } from "vitest";
import { login, signedInFrom } from "../../support/devices";
import { expectProblem, me, refresh, signUp } from "../../support/http";
import { configure } from "../../support/registry";

afterEach(() => {
  vi.useRealTimers();
});

describe("the absolute session lifetime", () => {
  it("should refuse an unexpired access token once its session is past its absolute lifetime, however active it was", async () => {
    const account = await signUp();
    await configure(account.userId, { REFRESH_TOKEN_TTL_SECONDS: "300" });
    const start = Date.now();
    vi.useFakeTimers({ now: start, toFake: ["Date"] });
    const device = await signedInFrom(await login(account.email), account.email);
    vi.setSystemTime(start + 200_000);
    expect((await me(device.accessToken)).status).toBe(200);
    vi.setSystemTime(start + 300_000);
    await expectProblem(await me(device.accessToken), 401, "invalid_token");
    await expectProblem(await refresh(device.refreshToken), 401, "invalid_refresh_token");
  });
});
