import { afterEach, describe, expect, it, vi } from "vitest";
import { login } from "../../support/devices";
import { expectProblem, freshIp, signUp, uniqueEmail } from "../../support/http";

const WRONG = "not the password at all";
const WINDOW_MS = 15 * 60_000; // LOGIN_ACCOUNT_WINDOW_SECONDS default

afterEach(() => {
  vi.useRealTimers();
});

async function failTenTimes(email: string) {
  // Each from its own address: only the account's counter is under test here.
  for (let i = 0; i < 10; i++) await expectProblem(await login(email, { ip: freshIp(), password: WRONG }), 401, "invalid_credentials");
}

describe("per-account lockout", () => {
  it("should answer the eleventh failed sign-in in a window with 429 and Retry-After, and let the account in after the window", async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ["Date"] });
    const account = await signUp();
    await failTenTimes(account.email);

    const eleventh = await login(account.email, { ip: freshIp(), password: WRONG });
    await expectProblem(eleventh, 429, "rate_limited");
    const retryAfter = Number(eleventh.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_MS / 1000);
    // Locked means locked: the right password is not even checked until the window ends.
    await expectProblem(await login(account.email, { ip: freshIp() }), 429, "rate_limited");

    vi.setSystemTime(Date.now() + retryAfter * 1000);
    expect((await login(account.email, { ip: freshIp() })).status).toBe(200);
  });

  it("should answer an unknown email's eleventh failure with the same 429, so the limit reveals no account", async () => {
    const email = uniqueEmail("nobody");
    await failTenTimes(email);
    const eleventh = await login(email, { ip: freshIp(), password: WRONG });
    await expectProblem(eleventh, 429, "rate_limited");
    expect(Number(eleventh.headers.get("Retry-After"))).toBeGreaterThan(0);
  });

  it("should let no more than ten parallel guesses at one account reach the password check", async () => {
    const account = await signUp();
    const responses = await Promise.all(Array.from({ length: 20 }, () => login(account.email, { ip: freshIp(), password: WRONG })));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
  });

  it("should not reset the failure count on a successful sign-in", async () => {
    const account = await signUp();
    for (let i = 0; i < 9; i++) await login(account.email, { ip: freshIp(), password: WRONG });
    expect((await login(account.email, { ip: freshIp() })).status).toBe(200);
    await expectProblem(await login(account.email, { ip: freshIp(), password: WRONG }), 401, "invalid_credentials");
    await expectProblem(await login(account.email, { ip: freshIp(), password: WRONG }), 429, "rate_limited");
  });
});

describe("sign-in limits together", () => {
  it("should give the account back an attempt the IP limit refused, uncounted, and answer the longer wait when both refuse", async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ["Date"] });
    const account = await signUp();
    for (let i = 0; i < 9; i++)
      await expectProblem(await login(account.email, { ip: freshIp(), password: WRONG }), 401, "invalid_credentials");
    // One address spends its 30 attempts a minute (LOGIN_IP_LIMIT) on other emails.
    const flooding = freshIp();
    for (let i = 0; i < 30; i++) await login(uniqueEmail("nobody"), { ip: flooding, password: WRONG });
    // Its next guess at the account is refused by the IP limit, after the account's budget reserved
    // a failure for it: the reservation is given back as no failure, not spent.
    const byIp = await login(account.email, { ip: flooding, password: WRONG });
    await expectProblem(byIp, 429, "rate_limited");
    expect(Number(byIp.headers.get("Retry-After"))).toBeLessThanOrEqual(60);
    await expectProblem(await login(account.email, { ip: freshIp(), password: WRONG }), 401, "invalid_credentials");
    await expectProblem(await login(account.email, { ip: freshIp(), password: WRONG }), 429, "rate_limited");
    // Now both refuse that address's guess: the answer is the account's wait (up to 15 minutes), not the IP's minute.
    const byBoth = await login(account.email, { ip: flooding, password: WRONG });
    await expectProblem(byBoth, 429, "rate_limited");
    expect(Number(byBoth.headers.get("Retry-After"))).toBeGreaterThan(60);
    expect(Number(byBoth.headers.get("Retry-After"))).toBeLessThanOrEqual(WINDOW_MS / 1000);
  });
});
