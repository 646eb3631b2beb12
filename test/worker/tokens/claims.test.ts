import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { AUTH_METHODS } from "../../../src/contract/auth";
import { configFrom } from "../../../src/shared/config";
import { verifyAccessTokenSignature } from "../../../src/worker/tokens/access";
import { loadKeySet } from "../../../src/worker/tokens/keys";
import { claimsFor, genuineTokenOfLength, SOME_JKT as JKT, signRawWithServiceKey, signWithServiceKey } from "../../support/forge";
import { me, signIn, signUp } from "../../support/http";
import { claimsOf } from "../../support/passkeys";
import { setRegistryClock } from "../../support/registry";

/**
 * Each check of src/worker/tokens/access.ts refuses on its own. Over HTTP every refusal is the same
 * 401, and a token one check should refuse is often refused by another too (a `sub` that is a
 * session id also names no live session), so dropping a check would go unseen: the reason is read
 * from the check itself. Every token here is signed with the service key unless it says otherwise.
 */
async function check(token: string, options: { acceptExpired?: boolean; nowMs?: number } = {}) {
  return verifyAccessTokenSignature(await loadKeySet(env.JWT_SIGNING_KEYS), configFrom(env), token, options.nowMs, options);
}
const sign = (payload: unknown, kid: unknown = JSON.parse(env.JWT_SIGNING_KEYS).keys.at(-1).kid) =>
  signRawWithServiceKey({ alg: "EdDSA", typ: "at+jwt", kid }, payload);

describe("why the access-token check refuses a token", () => {
  it("should name the check that refused each token", async () => {
    const victim = await signUp();
    const claims = claimsFor(victim);
    const now = Math.floor(Date.now() / 1000);
    const [h, p, s] = victim.accessToken.split(".") as [string, string, string];
    const cases: [string, string, string][] = [
      ["2049 characters, genuinely signed", await genuineTokenOfLength(victim, 2049), "too_long"],
      ["padding on the signature", `${h}.${p}.${s}==`, "not_canonical"],
      ["sub a session id", await sign({ ...claims, sub: victim.sessionId }), "bad_sub"],
      ["sub an array of the user id", await sign({ ...claims, sub: [victim.userId] }), "bad_sub"],
      ["sid a user id", await sign({ ...claims, sid: victim.userId }), "bad_sid"],
      ["sid an array of the session id", await sign({ ...claims, sid: [victim.sessionId] }), "bad_sid"],
      ["jti a number", await sign({ ...claims, jti: 7 }), "bad_claims"],
      ["lifetime one second over", await sign({ ...claims, exp: now + 601 }), "lifetime_exceeded"],
      ["kid unknown", await sign(claims, "not-ours"), "ERR_JWKS_NO_MATCHING_KEY"],
      ["kid a number", await sign(claims, 1), "ERR_JWKS_NO_MATCHING_KEY"],
      ["expired", await signWithServiceKey({ ...claims, iat: now - 660, exp: now - 60 }), "ERR_JWT_EXPIRED"],
      ["another issuer", await signWithServiceKey({ ...claims, iss: "https://evil.example.com" }), "ERR_JWT_CLAIM_VALIDATION_FAILED"],
      ["typ JWT", await signWithServiceKey(claims, { typ: "JWT" }), "ERR_JWT_CLAIM_VALIDATION_FAILED"],
      // cnf is `{ jkt }` with a thumbprint, and nothing else (RFC 9449 §6.1).
      ["cnf null", await sign({ ...claims, cnf: null }), "bad_cnf"],
      ["cnf a string", await sign({ ...claims, cnf: JKT }), "bad_cnf"],
      ["cnf an array of { jkt }", await sign({ ...claims, cnf: [{ jkt: JKT }] }), "bad_cnf"],
      ["cnf another confirmation method", await sign({ ...claims, cnf: { "x5t#S256": JKT } }), "bad_cnf"],
      ["cnf a jkt and another member", await sign({ ...claims, cnf: { jkt: JKT, "x5t#S256": JKT } }), "bad_cnf"],
      ["cnf.jkt a number", await sign({ ...claims, cnf: { jkt: 7 } }), "bad_cnf"],
      ["cnf.jkt an array of a thumbprint", await sign({ ...claims, cnf: { jkt: [JKT] } }), "bad_cnf"],
      ["cnf.jkt one character short", await sign({ ...claims, cnf: { jkt: JKT.slice(1) } }), "bad_cnf"],
      // auth_time and amr come together: a time no later than iat, 1 to 5 known methods.
      ["auth_time without amr", await sign({ ...claims, auth_time: now }), "bad_auth_context"],
      ["amr without auth_time", await sign({ ...claims, amr: ["pwd"] }), "bad_auth_context"],
      ["auth_time after iat", await sign({ ...claims, auth_time: now + 1, amr: ["pwd"] }), "bad_auth_context"],
      ["auth_time negative", await sign({ ...claims, auth_time: -1, amr: ["pwd"] }), "bad_auth_context"],
      ["auth_time not an integer", await sign({ ...claims, auth_time: now - 0.5, amr: ["pwd"] }), "bad_auth_context"],
      ["auth_time a string", await sign({ ...claims, auth_time: String(now), amr: ["pwd"] }), "bad_auth_context"],
      ["amr empty", await sign({ ...claims, auth_time: now, amr: [] }), "bad_auth_context"],
      ["amr of six values", await sign({ ...claims, auth_time: now, amr: [...AUTH_METHODS, "pwd"] }), "bad_auth_context"],
      ["amr with an unknown method", await sign({ ...claims, auth_time: now, amr: ["pwd", "otp"] }), "bad_auth_context"],
      ["amr a string", await sign({ ...claims, auth_time: now, amr: "pwd" }), "bad_auth_context"],
    ];
    const reasons = [];
    for (const [name, token] of cases) reasons.push([name, await check(token)]);
    expect(reasons).toEqual(cases.map(([name, , reason]) => [name, { ok: false, reason }]));
    expect(await check(await genuineTokenOfLength(victim, 2048))).toMatchObject({ ok: true });
  });

  it("should take the edges of what it refuses: a thumbprint alone, auth_time 0, all five methods", async () => {
    const claims = claimsFor(await signUp());
    const now = claims.iat as number;
    const accepted: [string, Record<string, unknown>][] = [
      ["cnf a thumbprint", { cnf: { jkt: JKT } }],
      ["auth_time equal to iat", { auth_time: now, amr: ["pwd"] }],
      ["auth_time 0", { auth_time: 0, amr: ["pwd"] }],
      ["all five methods", { auth_time: now, amr: [...AUTH_METHODS] }],
    ];
    const results = [];
    for (const [name, extra] of accepted) results.push([name, (await check(await sign({ ...claims, ...extra }))).ok]);
    expect(results).toEqual(accepted.map(([name]) => [name, true]));
  });

  it("should take an expired token only when asked to (logout), checked as of the second before it expired", async () => {
    const victim = await signUp();
    const now = Math.floor(Date.now() / 1000);
    const expired = await signWithServiceKey({ ...claimsFor(victim), iat: now - 660, exp: now - 60 });
    expect(await check(expired, { acceptExpired: true })).toMatchObject({ ok: true, claims: { sid: victim.sessionId } });
    // Every other claim is still checked at that moment: a token from the future is no better for having expired.
    const refreshLifetime = configFrom(env).refreshTokenTtlSeconds;
    const tooOld = await signWithServiceKey({ ...claimsFor(victim), iat: now - refreshLifetime - 700, exp: now - refreshLifetime - 100 });
    expect(await check(tooOld, { acceptExpired: true })).toEqual({ ok: false, reason: "ERR_JWT_EXPIRED" });
    const unexpired = await signWithServiceKey(claimsFor(victim));
    expect(await check(unexpired, { acceptExpired: true })).toMatchObject({ ok: true });
    const notYet = await signWithServiceKey({ ...claimsFor(victim), nbf: now + 3600 });
    expect(await check(notYet, { acceptExpired: true })).toEqual({ ok: false, reason: "ERR_JWT_CLAIM_VALIDATION_FAILED" });
  });

  it("should take an expired token for logout from the millisecond it expires to the end of the refresh lifetime, not 1 ms more", async () => {
    const victim = await signUp();
    const exp = Math.floor(Date.now() / 1000);
    const token = await signWithServiceKey({ ...claimsFor(victim), iat: exp - 600, exp });
    const lifetimeMs = configFrom(env).refreshTokenTtlSeconds * 1000;
    const at = async (nowMs: number) => (await check(token, { acceptExpired: true, nowMs })).ok;
    expect([
      await at(exp * 1000 - 1),
      await at(exp * 1000),
      await at(exp * 1000 + lifetimeMs),
      await at(exp * 1000 + lifetimeMs + 1),
    ]).toEqual([true, true, true, false]);
    // Without acceptExpired it is expired from its exp on (RFC 7519 §4.1.4).
    expect(await check(token, { nowMs: exp * 1000 })).toEqual({ ok: false, reason: "ERR_JWT_EXPIRED" });
  });
});

describe("auth_time in the tokens the service mints", () => {
  it("should never be later than iat, even when the registry's clock runs ahead of the Worker's", async () => {
    const account = await signUp();
    // Registry and Worker run on different machines; the registry records when the user signed in.
    await setRegistryClock(account.userId, () => Date.now() + 5_000);
    const later = await signIn(account.email);
    const claims = claimsOf(later.accessToken);
    expect(claims.auth_time).toBeLessThanOrEqual(claims.iat);
    // And the service takes its own token.
    expect((await me(later.accessToken)).status).toBe(200);
    await setRegistryClock(account.userId, null);
  });
});
