import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { freshIp, me, signUp } from "../../support/http";
import { breakLimiter } from "../../support/limiter";
import { basic, expectOAuthError, type OAuthPath, oauthPost, postCredentials, TEST_CLIENT } from "../../support/oauth";

const LIMIT = 20; // OAUTH_CLIENT_FAILURE_LIMIT default
const WINDOW_SECONDS = 900; // OAUTH_CLIENT_FAILURE_WINDOW_SECONDS default

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const RIGHT_BASIC = basic(TEST_CLIENT.id, TEST_CLIENT.secret);

/** One client authentication from `ip`: by Basic (`authorization`), or by the body when it is null and `credentials` are given. */
function attempt(path: OAuthPath, ip: string, authorization: string | null, credentials: Record<string, string> = {}) {
  return oauthPost(path, { token: "not-a-token", ...credentials }, authorization, ip);
}

/** A Basic header of exactly 1 KiB, the longest read (`Basic ` and 763 bytes in unpadded base64), with a wrong secret. */
const WRONG_BASIC_1KIB = `Basic ${btoa(`${TEST_CLIENT.id}:${"w".repeat(763 - TEST_CLIENT.id.length - 1)}`).replace(/=+$/, "")}`;

/** Failures of every kind that is counted: wrong secrets and unknown clients, by Basic and by the body, on both endpoints. */
const failures: [OAuthPath, string | null, Record<string, string>][] = [
  ["/v1/oauth/introspect", basic(TEST_CLIENT.id, "wrong-secret"), {}],
  ["/v1/oauth/introspect", WRONG_BASIC_1KIB, {}],
  ["/v1/oauth/revoke", null, postCredentials(TEST_CLIENT.id, "wrong-secret")],
  ["/v1/oauth/introspect", basic("someone-else", TEST_CLIENT.secret), {}],
  ["/v1/oauth/revoke", null, postCredentials("someone-else", "wrong-secret")],
];

async function fail(ip: string, times: number) {
  for (let i = 0; i < times; i++) {
    const [path, authorization, credentials] = failures[i % failures.length]!;
    await expectOAuthError(await attempt(path, ip, authorization, credentials), 401, "invalid_client");
  }
}

describe("failed client authentication limit per address", () => {
  it("should answer the 21st failure from one address with 429 and Retry-After, refuse even the right secret until the window ends, and leave other addresses alone", async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ["Date"] });
    expect(WRONG_BASIC_1KIB).toHaveLength(1024);
    const ip = freshIp();
    await fail(ip, LIMIT);

    const refused = await attempt("/v1/oauth/introspect", ip, basic(TEST_CLIENT.id, "another-guess"));
    const body = await expectOAuthError(refused, 429, "temporarily_unavailable");
    expect(body).not.toHaveProperty("active");
    const retryAfter = Number(refused.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);

    // Locked means locked: the right secret is not even checked, by either method, on either endpoint.
    const device = await signUp();
    await expectOAuthError(
      await oauthPost("/v1/oauth/introspect", { token: device.accessToken }, RIGHT_BASIC, ip),
      429,
      "temporarily_unavailable",
    );
    await expectOAuthError(
      await oauthPost("/v1/oauth/revoke", { token: device.refreshToken, ...postCredentials() }, null, ip),
      429,
      "temporarily_unavailable",
    );
    expect((await me(device.accessToken)).status).toBe(200);

    // Another address is not affected, and this one is free again once its window has ended.
    expect(await (await oauthPost("/v1/oauth/introspect", { token: device.accessToken }, RIGHT_BASIC, freshIp())).json()).toMatchObject({
      active: true,
    });
    vi.setSystemTime(Date.now() + retryAfter * 1000);
    const later = await signUp(); // the first device's access token has expired by now
    expect(await (await oauthPost("/v1/oauth/introspect", { token: later.accessToken }, RIGHT_BASIC, ip)).json()).toMatchObject({
      active: true,
    });
  });

  it("should never count successes: a busy backend is not refused, and successes do not reset the failures", async () => {
    const ip = freshIp();
    const device = await signUp();
    const busy = await Promise.all(
      Array.from({ length: 3 * LIMIT }, (_, i) =>
        i % 2
          ? oauthPost("/v1/oauth/introspect", { token: device.accessToken }, RIGHT_BASIC, ip)
          : oauthPost("/v1/oauth/introspect", { token: device.accessToken, ...postCredentials() }, null, ip),
      ),
    );
    expect(busy.map((r) => r.status)).toEqual(Array(3 * LIMIT).fill(200));

    await fail(ip, LIMIT - 1);
    for (let i = 0; i < 5; i++) expect((await attempt("/v1/oauth/introspect", ip, RIGHT_BASIC)).status).toBe(200);
    await fail(ip, 1);
    await expectOAuthError(
      await attempt("/v1/oauth/introspect", ip, basic(TEST_CLIENT.id, "wrong-secret")),
      429,
      "temporarily_unavailable",
    );
  });

  it("should answer no more than 20 of 40 parallel guesses from one address as failures: the rest get 429", async () => {
    const ip = freshIp();
    const responses = await Promise.all(
      Array.from({ length: 2 * LIMIT }, (_, i) => {
        const [path, authorization, credentials] = failures[i % failures.length]!;
        return attempt(path, ip, authorization, credentials);
      }),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(LIMIT);
    expect(statuses.filter((s) => s === 429)).toHaveLength(LIMIT);
  });

  it("should not count requests that present no credentials to check (none, malformed, incomplete, two methods, impossible ids and secrets)", async () => {
    const ip = freshIp();
    for (let i = 0; i < LIMIT + 5; i++) {
      await expectOAuthError(await attempt("/v1/oauth/introspect", ip, null), 401, "invalid_client");
      await expectOAuthError(await attempt("/v1/oauth/introspect", ip, "Basic !!!"), 401, "invalid_client");
      await expectOAuthError(await attempt("/v1/oauth/revoke", ip, null, { client_id: TEST_CLIENT.id }), 401, "invalid_client");
      await expectOAuthError(
        await attempt("/v1/oauth/revoke", ip, basic(TEST_CLIENT.id, "wrong-secret"), postCredentials()),
        400,
        "invalid_request",
      );
    }
    // Credentials no client could have: a single one of these, counted, would show in the 20 below.
    const unusable: [string | null, Record<string, string>][] = [
      [null, postCredentials(TEST_CLIENT.id, "")],
      [`Basic ${btoa(`${TEST_CLIENT.id}:`)}`, {}],
      [`Basic ${btoa(`${TEST_CLIENT.id}:\xff\xfe`)}`, {}], // a secret that is not UTF-8
      [basic(TEST_CLIENT.id, "x".repeat(1100)), {}], // a header over 1 KiB
      [basic("c".repeat(65), TEST_CLIENT.secret), {}],
      [null, postCredentials("c".repeat(65), TEST_CLIENT.secret)],
      [basic("two words", TEST_CLIENT.secret), {}],
      [null, postCredentials("two words", TEST_CLIENT.secret)],
      [null, { client_secret: TEST_CLIENT.secret }], // a secret with no client_id
      [`Basic ${btoa("no-colon-between-id-and-secret")}`, {}],
      [`Basic ${btoa("resource+server:wrong-secret")}`, {}], // form-decoded, "+" is a space: no client_id has one
      // The right credentials, not in a form Basic allows: each must be refused, not read.
      [`X${RIGHT_BASIC}`, {}],
      [`${RIGHT_BASIC} trailing`, {}],
      [`Basic ${btoa(`\xEF\xBB\xBF${TEST_CLIENT.id}:${TEST_CLIENT.secret}`)}`, {}], // a byte-order mark before the id
    ];
    for (const [authorization, credentials] of unusable)
      await expectOAuthError(await attempt("/v1/oauth/introspect", ip, authorization, credentials), 401, "invalid_client");
    // All of the address's failures are still to come.
    await fail(ip, LIMIT);
    await expectOAuthError(await attempt("/v1/oauth/introspect", ip, RIGHT_BASIC), 429, "temporarily_unavailable");
  });

  it("should ask the limiter about a busy backend's right secret about once per isolate per 10 seconds, and always about a wrong one", async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ["Date"] });
    const ip = freshIp();
    const device = await signUp();
    const names = vi.spyOn(env.RATE_LIMITER, "idFromName");
    const limiterCalls = () => names.mock.calls.filter(([name]) => name.startsWith("oauth-client-ip:2001:db8:")).length;
    const introspect = () => oauthPost("/v1/oauth/introspect", { token: device.accessToken }, RIGHT_BASIC, ip);
    expect((await introspect()).status).toBe(200);
    expect(limiterCalls()).toBe(1);
    for (let i = 0; i < 10; i++) expect((await introspect()).status).toBe(200);
    expect(limiterCalls()).toBe(1);
    await fail(ip, 2);
    expect(limiterCalls()).toBe(3);
    vi.setSystemTime(Date.now() + 10_001);
    const later = await signUp();
    expect((await oauthPost("/v1/oauth/introspect", { token: later.accessToken }, RIGHT_BASIC, ip)).status).toBe(200);
    expect(limiterCalls()).toBe(4);
  });

  it("should forget a recently allowed address as soon as its limiter refuses: the right secret then gets 429 too", async () => {
    const ip = freshIp();
    const device = await signUp();
    expect((await oauthPost("/v1/oauth/introspect", { token: device.accessToken }, RIGHT_BASIC, ip)).status).toBe(200);
    await fail(ip, LIMIT);
    await expectOAuthError(
      await attempt("/v1/oauth/introspect", ip, basic(TEST_CLIENT.id, "another-guess")),
      429,
      "temporarily_unavailable",
    );
    await expectOAuthError(
      await oauthPost("/v1/oauth/introspect", { token: device.accessToken }, RIGHT_BASIC, ip),
      429,
      "temporarily_unavailable",
    );
  });

  it("should fail closed with 503 when the limiter cannot be reached, telling nothing about the secret", async () => {
    const device = await signUp();
    breakLimiter();
    vi.spyOn(console, "error").mockImplementation(() => {});
    for (const [authorization, credentials] of [
      [RIGHT_BASIC, {}],
      [null, postCredentials()],
    ] as const) {
      const response = await oauthPost("/v1/oauth/revoke", { token: device.refreshToken, ...credentials }, authorization, freshIp());
      await expectOAuthError(response, 503, "temporarily_unavailable");
      expect(response.headers.get("Retry-After")).toBe("1");
    }
    vi.restoreAllMocks();
    expect((await me(device.accessToken)).status).toBe(200);
  });
});
