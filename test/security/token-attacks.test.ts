import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ATTACKS, type AttackName } from "../support/attacks";
import { claimsFor, genuineTokenWithUrlSafeCharacters, nonCanonicalVariants, signWithServiceKey } from "../support/forge";
import { call, expectProblem, me, PASSWORD, type SignedIn, signInOn, signUp } from "../support/http";

afterEach(() => {
  vi.restoreAllMocks();
});

/** Every route that takes a bearer token, with a body that would be accepted from a live session. */
function protectedRoutes(victim: SignedIn): { name: string; send: (authorization: string) => Promise<Response> }[] {
  const bearer = (authorization: string) => ({ Authorization: authorization });
  return [
    { name: "GET /v1/me", send: (a) => call("/v1/me", { headers: bearer(a) }) },
    { name: "GET /v1/sessions", send: (a) => call("/v1/sessions", { headers: bearer(a) }) },
    { name: "DELETE /v1/sessions/{id}", send: (a) => call(`/v1/sessions/${victim.sessionId}`, { method: "DELETE", headers: bearer(a) }) },
    { name: "POST /v1/auth/logout-others", send: (a) => call("/v1/auth/logout-others", { method: "POST", headers: bearer(a) }) },
    { name: "POST /v1/auth/logout-all", send: (a) => call("/v1/auth/logout-all", { method: "POST", headers: bearer(a) }) },
    {
      name: "POST /v1/auth/password",
      send: (a) =>
        call("/v1/auth/password", {
          method: "POST",
          headers: bearer(a),
          json: { current_password: PASSWORD, new_password: "attacker chose this one" },
        }),
    },
    { name: "POST /v1/auth/logout", send: (a) => call("/v1/auth/logout", { method: "POST", headers: bearer(a) }) },
  ];
}

/** Sends each token to every protected route; each must be a 401 invalid_token with the RFC 6750 header. */
async function expectRefusedEverywhere(victim: SignedIn, tokens: Record<string, string>, except: string[] = []) {
  const outcomes: string[] = [];
  for (const route of protectedRoutes(victim).filter((route) => !except.includes(route.name))) {
    for (const [name, token] of Object.entries(tokens)) {
      const response = await route.send(`Bearer ${token}`);
      const body = response.headers.get("Content-Type")?.includes("json") ? ((await response.json()) as { code?: string }) : {};
      const header = response.headers.get("WWW-Authenticate");
      if (response.status !== 401 || body.code !== "invalid_token" || header !== 'Bearer error="invalid_token"') {
        outcomes.push(`${route.name} with ${name}: ${response.status} ${body.code} ${header}`);
      }
    }
  }
  // The same tokens through the RPC entrypoint, as another Worker presents them over its binding.
  for (const [name, token] of Object.entries(tokens)) {
    const result = await env.SESSION_SERVICE.verify(token);
    if (result.ok || result.code !== "invalid_token") outcomes.push(`RPC verify with ${name}: ${JSON.stringify(result)}`);
  }
  expect(outcomes).toEqual([]);
  // Nothing an attack token reached changed the victim's account: still signed in, same password.
  expect((await me(victim.accessToken)).status).toBe(200);
}

async function victimAndAttacker() {
  const [victim, victimPhone] = await signInOn("laptop", "phone");
  const attacker = await signUp("tablet");
  return { victim: victim!, victimPhone: victimPhone!, attacker };
}

describe("forged and tampered access tokens (RFC 8725, ASVS V9.1)", () => {
  it("should accept a token the test workshop signs with the service key and genuine claims (the control case)", async () => {
    const { victim } = await victimAndAttacker();
    const token = await signWithServiceKey(claimsFor(victim));
    expect((await me(token)).status).toBe(200);
    expect((await call("/v1/sessions", { token })).status).toBe(200);
  });

  // The shared table (test/support/attacks.ts); the cases with more to prove follow on their own.
  const plain: AttackName[] = [
    "alg none in every capitalisation",
    "signature stripped or cut",
    "hostile kid over a genuine signature",
    "ECDSA psychic signature (ES256 with r = s = 0)",
    "unknown critical header parameters and unencoded payloads",
    "correctly signed, claims of the wrong types",
    "correctly signed, lifetime over the maximum",
    "other JWTs, and the refresh token, as an access token",
    "another audience or issuer, or from the future",
  ];
  it.each(plain)("should refuse on every route: %s", async (name) => {
    const parties = await victimAndAttacker();
    await expectRefusedEverywhere(parties.victim, await ATTACKS[name](parties));
  });

  it("should refuse a payload changed under the old signature (sub and sid swapped to another user's)", async () => {
    const parties = await victimAndAttacker();
    await expectRefusedEverywhere(parties.victim, await ATTACKS["payload changed under the old signature"](parties));
    // The attacker's own session was not harmed by the attempts either.
    expect((await me(parties.attacker.accessToken)).status).toBe(200);
  });

  it("should refuse HS256 tokens keyed with the public key as PEM, JWK JSON and raw bytes (algorithm confusion)", async () => {
    const parties = await victimAndAttacker();
    const tokens = await ATTACKS["HS256 keyed with the public key (algorithm confusion)"](parties);
    expect(Object.keys(tokens).length).toBeGreaterThanOrEqual(10);
    await expectRefusedEverywhere(parties.victim, tokens);
  });

  it("should refuse tokens that carry their own key (embedded jwk) or point at one (jku, x5u), and fetch nothing", async () => {
    const parties = await victimAndAttacker();
    // The Worker runs in this isolate: any outbound fetch it made would go through this spy.
    const outbound = vi.spyOn(globalThis, "fetch");
    await expectRefusedEverywhere(parties.victim, await ATTACKS["a key carried in the token (jwk) or pointed at (jku, x5u)"](parties));
    expect(outbound).not.toHaveBeenCalled();
  });

  it("should refuse non-canonical base64url spellings of a genuine token while its session is live", async () => {
    const parties = await victimAndAttacker();
    const variants = await ATTACKS["non-canonical spellings of a live session's genuine token"](parties);
    expect(Object.keys(variants)).toContain("standard alphabet (+ and /)");
    // One token, one spelling: anything keyed on the token string cannot be side-stepped by re-spelling it.
    await expectRefusedEverywhere(parties.victim, variants);
  });

  it("should refuse every non-canonical spelling of a token once its session is revoked", async () => {
    const { victim, victimPhone } = await victimAndAttacker();
    expect((await call(`/v1/sessions/${victimPhone.sessionId}`, { method: "DELETE", token: victim.accessToken })).status).toBe(204);
    const issued = nonCanonicalVariants(victimPhone.accessToken);
    const minted = nonCanonicalVariants(await genuineTokenWithUrlSafeCharacters(victimPhone));
    expect(Object.keys(minted)).toContain("standard alphabet (+ and /)");
    const variants = Object.fromEntries([
      ...Object.entries(issued).map(([name, token]) => [`issued token, ${name}`, token]),
      ...Object.entries(minted).map(([name, token]) => [`minted token, ${name}`, token]),
    ]);
    await expectRefusedEverywhere(victim, variants);
    // The original spelling too, except on logout, which the contract makes idempotent (204).
    for (const path of ["/v1/me", "/v1/sessions"])
      await expectProblem(await call(path, { token: victimPhone.accessToken }), 401, "invalid_token");
    await expectProblem(await call("/v1/auth/logout-all", { method: "POST", token: victimPhone.accessToken }), 401, "invalid_token");
    expect((await call("/v1/auth/logout", { method: "POST", token: victimPhone.accessToken })).status).toBe(204);
    await expectProblem(await me(victimPhone.accessToken), 401, "invalid_token");
  });

  it("should refuse an expired token on every route but logout", async () => {
    const parties = await victimAndAttacker();
    // Logout alone takes a genuine expired token (ending a session needs possession, not freshness:
    // test/registry/liveness/activity.test.ts); every other route refuses it.
    await expectRefusedEverywhere(parties.victim, await ATTACKS.expired(parties), ["POST /v1/auth/logout"]);
  });

  it("should refuse an over-long Authorization header before any signature check", async () => {
    const parties = await victimAndAttacker();
    const verify = vi.spyOn(crypto.subtle, "verify");
    const tokens = await ATTACKS["over-long tokens"](parties);
    verify.mockClear();
    await expectRefusedEverywhere(parties.victim, tokens);
    // Only the final control request (a genuine token) reached a signature check.
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it("should not let one user end or see another user's session by its id", async () => {
    const { victim, attacker } = await victimAndAttacker();
    await expectProblem(
      await call(`/v1/sessions/${victim.sessionId}`, { method: "DELETE", token: attacker.accessToken }),
      404,
      "not_found",
    );
    const listed = (await (await call("/v1/sessions", { token: attacker.accessToken })).json()) as { sessions: { id: string }[] };
    expect(listed.sessions.map((s) => s.id)).toEqual([attacker.sessionId]);
    expect((await me(victim.accessToken)).status).toBe(200);
  });

  it("should refuse malformed Authorization headers on logout too, without ending any session", async () => {
    const { victim } = await victimAndAttacker();
    for (const authorization of [
      "Bearer",
      "Bearer ",
      `Bearer\t${victim.accessToken}`,
      `Bearer${victim.accessToken}`,
      `Basic ${btoa("a:b")}`,
      `Bearer ${victim.accessToken} extra`,
      `Token ${victim.accessToken}`,
    ]) {
      const response = await call("/v1/auth/logout", { method: "POST", headers: { Authorization: authorization } });
      expect(response.status, authorization.slice(0, 20)).toBe(401);
      expect(response.headers.get("WWW-Authenticate")).toBe('Bearer error="invalid_token"');
    }
    expect((await me(victim.accessToken)).status).toBe(200);
  });

  it("should accept the Bearer scheme in any case with one or more spaces before the token (RFC 6750 §2.1), on logout too", async () => {
    const { victim, victimPhone } = await victimAndAttacker();
    for (const authorization of [`Bearer  ${victim.accessToken}`, `bearer ${victim.accessToken}`, `BEARER   ${victim.accessToken}`])
      expect((await call("/v1/me", { headers: { Authorization: authorization } })).status, authorization.slice(0, 10)).toBe(200);
    // Any number of spaces, but the header as a whole is capped at 4096 characters.
    const padded = (length: number) => `Bearer${" ".repeat(length - 6 - victim.accessToken.length)}${victim.accessToken}`;
    expect((await call("/v1/me", { headers: { Authorization: padded(4096) } })).status).toBe(200);
    await expectProblem(await call("/v1/me", { headers: { Authorization: padded(4097) } }), 401, "invalid_token");
    const logout = await call("/v1/auth/logout", { method: "POST", headers: { Authorization: `Bearer  ${victimPhone.accessToken}` } });
    expect(logout.status).toBe(204);
    await expectProblem(await me(victimPhone.accessToken), 401, "invalid_token");
  });
});
