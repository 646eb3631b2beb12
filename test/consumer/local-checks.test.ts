import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { JwksCache } from "../../consumer/jwks";
import { verifyLocally } from "../../consumer/verify-local";
import { ATTACKS, type AttackName } from "../support/attacks";
import { claimsFor, genuineTokenOfLength, SOME_JKT as JKT, rawJwt, serviceKid, signHs256, signWithServiceKey } from "../support/forge";
import { expectProblem, signInOn, signUp } from "../support/http";
import { clock, consumerApp, countingBinding, TOKENS, tokenFromUnknownKey } from "./support";

/**
 * In `stateless` mode, and in `cached` mode while a session is remembered, the consumer's own
 * checks are the only defence: the service never sees the token. The service's whole attack table
 * (test/support/attacks.ts) goes through the middleware, configured as the service is (600 s tokens).
 */
describe.each(["stateless", "cached"] as const)("requireSession %s mode, checking tokens itself", (mode) => {
  it.each(Object.keys(ATTACKS) as AttackName[])("should refuse, without asking the service: %s", async (name) => {
    const { binding, counts } = countingBinding();
    const request = consumerApp({ mode, binding: () => binding, maxTokenLifetimeSeconds: 600 });
    const victim = await signUp("laptop");
    const attacker = await signUp("tablet");
    // In cached mode the victim's session is now remembered as live: a token of that session that
    // passed the local checks would be accepted from memory.
    expect((await request(victim.accessToken)).status).toBe(200);
    const asked = counts.verify;
    const accepted: string[] = [];
    for (const [label, token] of Object.entries(await ATTACKS[name]({ victim, attacker }))) {
      const response = await request(token);
      const body = response.headers.get("Content-Type")?.includes("json") ? ((await response.json()) as { code?: string }) : {};
      if (response.status !== 401 || body.code !== "invalid_token") accepted.push(`${label}: ${response.status} ${body.code}`);
    }
    expect(accepted).toEqual([]);
    expect(counts.verify).toBe(asked);
    expect(asked).toBe(mode === "cached" ? 1 : 0);
  });
});

describe("requireSession's check of amr (RFC 8176), in stateless mode", () => {
  // Any method name is accepted, so a consumer deployed before the service learns a new one keeps
  // working (test/README.md); the shape is bounded: 1 to 8 names of at most 16 characters.
  it("should accept up to 8 names of up to 16 characters, and refuse a ninth, a longer name or a non-string among names", async () => {
    const { binding, counts } = countingBinding();
    const request = consumerApp({ mode: "stateless", binding: () => binding, maxTokenLifetimeSeconds: 600 });
    const device = await signUp();
    const withAmr = (amr: unknown) => {
      const claims = claimsFor(device);
      return signWithServiceKey({ ...claims, auth_time: claims.iat, amr });
    };
    const names = (count: number) => Array.from({ length: count }, (_, i) => `m${i}`);
    const accepted = [["pwd"], names(8), ["a".repeat(16)], ["pwd", "a".repeat(16)]];
    for (const amr of accepted) {
      const response = await request(await withAmr(amr));
      expect(response.status, JSON.stringify(amr)).toBe(200);
      expect(((await response.json()) as { claims: { amr: string[] } }).claims.amr).toEqual(amr);
    }
    for (const amr of [names(9), ["a".repeat(17)], ["pwd", "a".repeat(17)], ["pwd", 1], [1, "pwd"], ["pwd", null], ["pwd", ["hwk"]]])
      await expectProblem(await request(await withAmr(amr)), 401, "invalid_token");
    // Checked locally, every one: the service was never asked.
    expect(counts.verify).toBe(0);
  });
});

describe("requireSession cached mode, the bound of a remembered session", () => {
  it("should remember a session no longer than the confirmed token lives: min(confirmedAt + ttl, exp)", async () => {
    const time = clock();
    const { binding, counts } = countingBinding();
    const request = consumerApp({ mode: "cached", binding: () => binding, cacheTtlMs: 300_000, now: time.now });
    const [laptop, phone] = await signInOn("laptop", "phone");
    const now = Math.floor(Date.now() / 1000);
    const shortLived = await signWithServiceKey({ ...claimsFor(phone!), iat: now, exp: now + 60 });
    expect((await request(shortLived)).status).toBe(200);
    expect(counts.verify).toBe(1);
    await env.SESSION_SERVICE.revokeSession(laptop!.userId, phone!.sessionId, "lost_device");
    // Inside the bound the session's other token is taken from memory (so the cache is in use)...
    time.advance(30_000);
    expect((await request(phone!.accessToken)).status).toBe(200);
    expect(counts.verify).toBe(1);
    // ...and once the confirmed token has expired the session is asked about again, though the
    // five-minute TTL has not passed: the revocation is seen.
    time.advance(31_000);
    await expectProblem(await request(phone!.accessToken), 401, "invalid_token");
    expect(counts.verify).toBe(2);
  });
});

describe("requireSession's algorithm allowlist (RFC 8725 §3.1)", () => {
  it.each(["stateless", "cached"] as const)(
    "should refuse HS256, none and ES256 tokens in %s mode before looking for their key",
    async (mode) => {
      const time = clock();
      const { binding, counts } = countingBinding();
      const request = consumerApp({ mode, binding: () => binding, now: time.now });
      const victim = await signUp();
      expect((await request(victim.accessToken)).status).toBe(200);
      // Past the re-read interval, a token whose key is not in the JWKS makes the consumer read it
      // again: so the JWKS count shows whether a token got as far as a key lookup.
      time.advance(30_000);
      const header = (alg: string) => ({ alg, typ: "at+jwt", kid: serviceKid() });
      for (const token of [
        await signHs256(header("HS256"), claimsFor(victim), new TextEncoder().encode("any secret at all")),
        rawJwt(header("none"), claimsFor(victim), "c2lnbmF0dXJl"),
        rawJwt(header("ES256"), claimsFor(victim), "A".repeat(86)),
      ])
        await expectProblem(await request(token), 401, "invalid_token");
      expect(counts.fetch).toBe(1);
      // The control: an EdDSA token of an unknown key does get that far.
      await expectProblem(await request(await tokenFromUnknownKey()), 401, "invalid_token");
      expect(counts.fetch).toBe(2);
    },
  );
});

describe("requireSession's length limits", () => {
  it.each(["stateless", "cached"] as const)(
    "should accept a genuine token of 2048 characters and refuse one of 2049 in %s mode",
    async (mode) => {
      const { binding } = countingBinding();
      const request = consumerApp({ mode, binding: () => binding });
      const device = await signUp();
      expect((await request(await genuineTokenOfLength(device, 2048))).status).toBe(200);
      await expectProblem(await request(await genuineTokenOfLength(device, 2049)), 401, "invalid_token");
    },
  );

  it("should refuse an Authorization header over 4096 characters, however the token in it is padded", async () => {
    const { binding } = countingBinding();
    const request = consumerApp({ mode: "stateless", binding: () => binding });
    const device = await signUp();
    // RFC 6750 allows any number of spaces after the scheme; the header as a whole is capped.
    const padded = (length: number) => `Bearer${" ".repeat(length - 6 - device.accessToken.length)}${device.accessToken}`;
    expect((await request(undefined, undefined, padded(4096))).status).toBe(200);
    await expectProblem(await request(undefined, undefined, padded(4097)), 401, "invalid_token");
  });
});

describe("verifyLocally, read directly", () => {
  // Through requireSession every refusal but jwks_unavailable is the same 401, so a refusal that
  // lost its code, or a bound token whose key was dropped on the way, would go unseen over HTTP:
  // the check's own answer is read here, as test/worker/tokens/claims.test.ts does for the service.

  it("should answer each refused token with exactly { ok: false, code: invalid_token }, and return exactly the claims it checked", async () => {
    const device = await signUp();
    const claims = claimsFor(device);
    const now = claims.iat as number;
    const jwks = new JwksCache();
    const fetchJwks = () => env.SESSION_SERVICE.fetch("https://auth.example.com/.well-known/jwks.json");
    const check = async (payload: Record<string, unknown>) =>
      verifyLocally(await signWithServiceKey(payload), jwks, fetchJwks, { ...TOKENS, maxTokenLifetimeSeconds: 600, nowMs: now * 1000 });
    const refused: [string, Record<string, unknown>][] = [
      ["sub a session id", { ...claims, sub: device.sessionId }],
      ["jti a number", { ...claims, jti: 7 }],
      ["lifetime one second over", { ...claims, exp: now + 601 }],
      ["cnf without jkt", { ...claims, cnf: {} }],
      ["auth_time after iat", { ...claims, auth_time: now + 1, amr: ["pwd"] }],
      ["amr empty", { ...claims, auth_time: now, amr: [] }],
      ["expired", { ...claims, iat: now - 700, exp: now - 100 }],
    ];
    const answers = [];
    for (const [name, payload] of refused) answers.push([name, await check(payload)]);
    expect(answers).toEqual(refused.map(([name]) => [name, { ok: false, code: "invalid_token" }]));

    const { iss, aud, sub, sid, jti, iat, exp } = claims;
    const checked = { iss, aud, sub, sid, jti, iat, exp };
    expect(await check({ ...claims, extra: "not passed on" })).toEqual({ ok: true, claims: checked });
    expect(await check({ ...claims, cnf: { jkt: JKT } })).toEqual({ ok: true, claims: { ...checked, cnf: { jkt: JKT } } });
    // auth_time 0 is a time (1970), only not a recent one.
    expect(await check({ ...claims, auth_time: 0, amr: ["pwd"] })).toEqual({
      ok: true,
      claims: { ...checked, auth_time: 0, amr: ["pwd"] },
    });
  });
});
