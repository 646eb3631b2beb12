import { afterEach, describe, expect, it, vi } from "vitest";
import { login } from "../../support/devices";
import { call, expectProblem, freshIp, PASSWORD, signUp, uniqueEmail } from "../../support/http";

afterEach(() => {
  vi.useRealTimers();
});

describe("per-IP sign-in limit", () => {
  it("should allow 30 sign-in attempts a minute from one IP, across accounts, and refuse the 31st with 429", async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ["Date"] });
    const ip = freshIp();
    const accounts = await Promise.all([signUp(), signUp(), signUp()]);
    for (let i = 0; i < 30; i++) {
      const account = accounts[i % 3]!;
      // A mix of right and wrong passwords and unknown emails: every attempt counts against the IP.
      const response =
        i % 5 === 0
          ? await login(uniqueEmail("nobody"), { ip, password: "not the right password" })
          : await login(account.email, { ip, password: i % 2 ? PASSWORD : "not the right password" });
      expect(response.status, `attempt ${i + 1}`).not.toBe(429);
    }
    const refused = await login(accounts[0]!.email, { ip });
    await expectProblem(refused, 429, "rate_limited");
    const retryAfter = Number(refused.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Another address is not affected, and this one is free again after its window.
    expect((await login(accounts[0]!.email, { ip: freshIp() })).status).toBe(200);
    vi.setSystemTime(Date.now() + retryAfter * 1000);
    expect((await login(accounts[0]!.email, { ip })).status).toBe(200);
  });

  it("should allow 30 successful sign-ins a minute for one account, even all at once", async () => {
    const account = await signUp();
    const ip = freshIp();
    const responses = await Promise.all(Array.from({ length: 30 }, () => login(account.email, { ip })));
    expect(responses.map((r) => r.status)).toEqual(Array(30).fill(200));
  });

  it("should limit signups per IP with 429 and Retry-After", async () => {
    const ip = freshIp();
    const signup = () =>
      call("/v1/auth/signup", { method: "POST", json: { email: uniqueEmail(), password: PASSWORD }, headers: { "CF-Connecting-IP": ip } });
    for (let i = 0; i < 30; i++) expect((await signup()).status).toBe(201);
    const refused = await signup();
    await expectProblem(refused, 429, "rate_limited");
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
  });
});
