import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  AUDIENCE,
  attackerKey,
  claimsFor,
  decodePart,
  genuineTokenWithUrlSafeCharacters,
  ISSUER,
  nonCanonicalVariants,
  publicKeyForms,
  rawJwt,
  serviceKid,
  signHs256,
  signRawWithServiceKey,
  signWithServiceKey,
} from "../support/forge";
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

  it("should refuse alg none in every capitalisation, with an empty and with a bogus signature", async () => {
    const { victim } = await victimAndAttacker();
    const tokens: Record<string, string> = {};
    for (const alg of ["none", "None", "NONE", "nOnE"]) {
      const header = { alg, typ: "at+jwt", kid: serviceKid() };
      tokens[`alg ${alg}, empty signature`] = rawJwt(header, claimsFor(victim));
      tokens[`alg ${alg}, bogus signature`] = rawJwt(header, claimsFor(victim), "c2lnbmF0dXJl");
      tokens[`alg ${alg}, no kid`] = rawJwt({ alg, typ: "at+jwt" }, claimsFor(victim));
    }
    await expectRefusedEverywhere(victim, tokens);
  });

  it("should refuse a genuine token with its signature stripped or cut", async () => {
    const { victim } = await victimAndAttacker();
    const [h, p, s] = victim.accessToken.split(".") as [string, string, string];
    await expectRefusedEverywhere(victim, {
      "empty signature": `${h}.${p}.`,
      "no signature part": `${h}.${p}`,
      "half a signature": `${h}.${p}.${s.slice(0, 43)}`,
      "four parts": `${h}.${p}.${s}.${s}`,
    });
  });

  it("should refuse a payload changed under the old signature (sub and sid swapped to another user's)", async () => {
    const { victim, attacker } = await victimAndAttacker();
    const [h, p, s] = attacker.accessToken.split(".") as [string, string, string];
    const claims = decodePart(p);
    const swap = (changes: Record<string, unknown>) => `${h}.${rawJwt({}, { ...claims, ...changes }).split(".")[1]}.${s}`;
    await expectRefusedEverywhere(victim, {
      "sub and sid of the victim": swap({ sub: victim.userId, sid: victim.sessionId }),
      "sid of the victim only": swap({ sid: victim.sessionId }),
      "sub of the victim only": swap({ sub: victim.userId }),
      "exp pushed out": swap({ exp: claims.exp + 86400 }),
      "victim's payload spliced in": `${h}.${victim.accessToken.split(".")[1]}.${s}`,
    });
    // The attacker's own session was not harmed by the attempts either.
    expect((await me(attacker.accessToken)).status).toBe(200);
  });

  it("should refuse HS256 tokens keyed with the public key as PEM, JWK JSON and raw bytes (algorithm confusion)", async () => {
    const { victim } = await victimAndAttacker();
    const jwks = (await (await call("/.well-known/jwks.json")).json()) as { keys: Record<string, string>[] };
    const tokens: Record<string, string> = {};
    for (const [form, secret] of Object.entries(await publicKeyForms(jwks.keys[0]!))) {
      tokens[`HS256 with ${form}`] = await signHs256({ alg: "HS256", typ: "at+jwt", kid: serviceKid() }, claimsFor(victim), secret);
      tokens[`HS256 with ${form}, no kid`] = await signHs256({ alg: "HS256", typ: "at+jwt" }, claimsFor(victim), secret);
    }
    expect(Object.keys(tokens).length).toBeGreaterThanOrEqual(10);
    await expectRefusedEverywhere(victim, tokens);
  });

  it("should refuse tokens that carry their own key (embedded jwk) or point at one (jku, x5u), and fetch nothing", async () => {
    const { victim } = await victimAndAttacker();
    // The Worker runs in this isolate: any outbound fetch it made would go through this spy.
    const outbound = vi.spyOn(globalThis, "fetch");
    const attacker = await attackerKey();
    const claims = claimsFor(victim);
    await expectRefusedEverywhere(victim, {
      "embedded jwk, no kid": await attacker.sign(claims, { jwk: attacker.publicJwk }),
      "embedded jwk with the service kid": await attacker.sign(claims, { jwk: attacker.publicJwk, kid: serviceKid() }),
      "jku to the attacker's JWKS": await attacker.sign(claims, { jku: "https://attacker.example/jwks.json", kid: "attacker" }),
      "jku with the service kid": await attacker.sign(claims, { jku: "https://attacker.example/jwks.json", kid: serviceKid() }),
      "x5u to the attacker's certificate": await attacker.sign(claims, { x5u: "https://attacker.example/cert.pem", kid: "attacker" }),
      "x5c with a junk chain": await attacker.sign(claims, { x5c: ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"], kid: serviceKid() }),
    });
    expect(outbound).not.toHaveBeenCalled();
  });

  it("should refuse a kid with path traversal, SQL, or 10 KB of text, even over a genuine signature", async () => {
    const { victim } = await victimAndAttacker();
    const claims = claimsFor(victim);
    await expectRefusedEverywhere(victim, {
      "kid ../../etc/passwd": await signWithServiceKey(claims, { kid: "../../etc/passwd" }),
      "kid ' OR 1=1 --": await signWithServiceKey(claims, { kid: "' OR 1=1 --" }),
      "kid of 10 KB": await signWithServiceKey(claims, { kid: "k".repeat(10 * 1024) }),
      "kid missing": await signWithServiceKey(claims, { kid: undefined }),
      "kid as a number": await signRawWithServiceKey({ alg: "EdDSA", typ: "at+jwt", kid: 1 }, claims),
      "kid __proto__": await signWithServiceKey(claims, { kid: "__proto__" }),
    });
  });

  it("should refuse the ECDSA psychic signature (ES256 with r = s = 0)", async () => {
    const { victim } = await victimAndAttacker();
    const zeros = "A".repeat(86);
    await expectRefusedEverywhere(victim, {
      "ES256, 64 zero bytes": rawJwt({ alg: "ES256", typ: "at+jwt", kid: serviceKid() }, claimsFor(victim), zeros),
      "ES256, no kid": rawJwt({ alg: "ES256", typ: "at+jwt" }, claimsFor(victim), zeros),
      "EdDSA, 64 zero bytes": rawJwt({ alg: "EdDSA", typ: "at+jwt", kid: serviceKid() }, claimsFor(victim), zeros),
    });
  });

  it("should refuse non-canonical base64url spellings of a genuine token while its session is live", async () => {
    const { victim } = await victimAndAttacker();
    const token = await genuineTokenWithUrlSafeCharacters(victim);
    expect((await me(token)).status).toBe(200);
    const variants = nonCanonicalVariants(token);
    expect(Object.keys(variants)).toContain("standard alphabet (+ and /)");
    // One token, one spelling: anything keyed on the token string cannot be side-stepped by re-spelling it.
    await expectRefusedEverywhere(victim, variants);
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

  it("should refuse unknown critical header parameters and unencoded payloads", async () => {
    const { victim } = await victimAndAttacker();
    const claims = claimsFor(victim);
    await expectRefusedEverywhere(victim, {
      "crit with an unknown parameter": await signRawWithServiceKey(
        { alg: "EdDSA", typ: "at+jwt", kid: serviceKid(), crit: ["x-must-understand"], "x-must-understand": true },
        claims,
      ),
      "crit naming an absent parameter": await signRawWithServiceKey(
        { alg: "EdDSA", typ: "at+jwt", kid: serviceKid(), crit: ["exp"] },
        claims,
      ),
      "crit empty": await signRawWithServiceKey({ alg: "EdDSA", typ: "at+jwt", kid: serviceKid(), crit: [] }, claims),
      "b64 false": await signRawWithServiceKey({ alg: "EdDSA", typ: "at+jwt", kid: serviceKid(), crit: ["b64"], b64: false }, claims),
    });
  });

  it("should refuse correctly signed tokens whose claims have the wrong types", async () => {
    const { victim } = await victimAndAttacker();
    const claims = claimsFor(victim);
    const { sid: _sid, ...withoutSid } = claims;
    const sign = (payload: unknown) => signRawWithServiceKey({ alg: "EdDSA", typ: "at+jwt", kid: serviceKid() }, payload);
    await expectRefusedEverywhere(victim, {
      "exp as a string": await sign({ ...claims, exp: String(claims.exp) }),
      "exp as an array": await sign({ ...claims, exp: [claims.exp] }),
      "iat as a string": await sign({ ...claims, iat: String(claims.iat) }),
      "sub as a number": await sign({ ...claims, sub: 12345 }),
      "sub as an object": await sign({ ...claims, sub: { id: victim.userId } }),
      "sub as a session id": await sign({ ...claims, sub: victim.sessionId }),
      "sid as a number": await sign({ ...claims, sid: 12345 }),
      "sid null": await sign({ ...claims, sid: null }),
      "sid missing": await sign(withoutSid),
      "sid as a user id": await sign({ ...claims, sid: victim.userId }),
      "payload an array": await sign([claims]),
    });
  });

  it("should refuse a correctly signed token whose lifetime exceeds the maximum, however far its exp", async () => {
    const { victim } = await victimAndAttacker();
    const now = Math.floor(Date.now() / 1000);
    await expectRefusedEverywhere(victim, {
      "exp in ten years": await signWithServiceKey({ ...claimsFor(victim), exp: now + 10 * 365 * 86400 }),
      "exp at 2^53": await signWithServiceKey({ ...claimsFor(victim), exp: Number.MAX_SAFE_INTEGER }),
      "lifetime one second too long": await signWithServiceKey({ ...claimsFor(victim), exp: now + 601 }),
      "iat long ago, exp still ahead": await signWithServiceKey({ ...claimsFor(victim), iat: now - 3600, exp: now + 60 }),
      "no iat": await signWithServiceKey({ ...claimsFor(victim), iat: undefined }),
    });
  });

  it("should refuse other JWTs and the refresh token presented as an access token", async () => {
    const { victim } = await victimAndAttacker();
    const claims = claimsFor(victim);
    await expectRefusedEverywhere(victim, {
      "typ JWT": await signWithServiceKey(claims, { typ: "JWT" }),
      "typ missing": await signWithServiceKey(claims, { typ: undefined }),
      "typ refresh+jwt": await signWithServiceKey(claims, { typ: "refresh+jwt" }),
      "typ id_token style": await signWithServiceKey(claims, { typ: "id+jwt" }),
      "the refresh token itself": victim.refreshToken,
    });
  });

  it("should refuse tokens for another audience or issuer, from the future, or expired", async () => {
    const { victim } = await victimAndAttacker();
    const now = Math.floor(Date.now() / 1000);
    const claims = claimsFor(victim);
    expect(claims).toMatchObject({ iss: ISSUER, aud: AUDIENCE });
    await expectRefusedEverywhere(victim, {
      "audience of another API": await signWithServiceKey({ ...claims, aud: "https://other.example.com" }),
      "audience list without ours": await signWithServiceKey({ ...claims, aud: ["https://other.example.com"] }),
      "issuer of another service": await signWithServiceKey({ ...claims, iss: "https://evil.example.com" }),
      "no issuer": await signWithServiceKey({ ...claims, iss: undefined }),
      "iat an hour ahead": await signWithServiceKey({ ...claims, iat: now + 3600, exp: now + 4200 }),
      "nbf an hour ahead": await signWithServiceKey({ ...claims, nbf: now + 3600 }),
    });
    // Logout alone takes a genuine expired token (ending a session needs possession, not freshness:
    // test/storage/activity.test.ts); every other route refuses it.
    await expectRefusedEverywhere(
      victim,
      { "expired a minute ago": await signWithServiceKey({ ...claims, iat: now - 660, exp: now - 60 }) },
      ["POST /v1/auth/logout"],
    );
  });

  it("should refuse an over-long Authorization header before any signature check", async () => {
    const { victim } = await victimAndAttacker();
    const verify = vi.spyOn(crypto.subtle, "verify");
    const padded = `${victim.accessToken}.${"A".repeat(8 * 1024)}`;
    const longKid = await signWithServiceKey(claimsFor(victim), { kid: "k".repeat(3 * 1024) });
    verify.mockClear();
    await expectRefusedEverywhere(victim, {
      "8 KB token": padded,
      "3 KB genuinely signed token": longKid,
      "9 KB of one part": "A".repeat(9 * 1024),
    });
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
      `Bearer  ${victim.accessToken}`,
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
});
