import { afterEach, describe, expect, it, vi } from "vitest";
import { expectProblem, me, refresh, signUp } from "../../support/http";

afterEach(() => {
  vi.useRealTimers();
});

describe("per-session refresh limit", () => {
  it("should answer the 31st refresh of one session within a minute with 429, and keep the session usable after the window", async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ["Date"] });
    const device = await signUp();
    let token = device.refreshToken;
    for (let i = 0; i < 30; i++) {
      const response = await refresh(token);
      expect(response.status, `refresh ${i + 1}`).toBe(200);
      token = ((await response.json()) as { refresh_token: string }).refresh_token;
    }
    const limited = await refresh(token);
    await expectProblem(limited, 429, "rate_limited");
    const retryAfter = Number(limited.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // A 429 is not a refusal: the same token still works once the window has passed.
    vi.setSystemTime(Date.now() + retryAfter * 1000);
    expect((await refresh(token)).status).toBe(200);
  });

  it("should count each session on its own", async () => {
    const [a, b] = await Promise.all([signUp(), signUp()]);
    let token = a.refreshToken;
    for (let i = 0; i < 30; i++) token = ((await (await refresh(token)).json()) as { refresh_token: string }).refresh_token;
    await expectProblem(await refresh(token), 429, "rate_limited");
    expect((await refresh(b.refreshToken)).status).toBe(200);
  });

  it("should still catch a replayed old token as reuse while the session's refresh window is used up", async () => {
    const start = Date.now();
    vi.useFakeTimers({ now: start, toFake: ["Date"] });
    const device = await signUp();
    let token = device.refreshToken;
    for (let i = 0; i < 30; i++) token = ((await (await refresh(token)).json()) as { refresh_token: string }).refresh_token;
    await expectProblem(await refresh(token), 429, "rate_limited");
    // Past the grace window, inside the rate window: the first token is stolen-token reuse (RFC 9700 §4.14.2).
    vi.setSystemTime(start + 11_000);
    await expectProblem(await refresh(device.refreshToken), 401, "invalid_refresh_token");
    await expectProblem(await me(device.accessToken), 401, "invalid_token");
    vi.setSystemTime(start + 61_000);
    await expectProblem(await refresh(token), 401, "invalid_refresh_token");
  });
});
