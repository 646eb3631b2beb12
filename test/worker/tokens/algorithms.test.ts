import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { configFrom } from "../../../src/shared/config";
import { verifyAccessTokenSignature } from "../../../src/worker/tokens/access";
import { loadKeySet } from "../../../src/worker/tokens/keys";
import { claimsFor, publicKeyForms, rawJwt, serviceKid, signHs256 } from "../../support/forge";
import { call, signUp } from "../../support/http";

/**
 * RFC 8725 §3.1: the algorithm is pinned (EdDSA), never read from the token. Over HTTP every
 * refusal is the same 401, so the reason is read from the check itself: a token of another
 * algorithm must fail the allowlist, before any key is looked up, and not merely because the
 * Ed25519 key happens not to fit it.
 */
describe("the algorithm allowlist", () => {
  it("should refuse HS256, none and ES256 tokens for their algorithm", async () => {
    const victim = await signUp();
    const jwks = (await (await call("/.well-known/jwks.json")).json()) as { keys: Record<string, string>[] };
    const header = (alg: string) => ({ alg, typ: "at+jwt", kid: serviceKid() });
    const tokens: Record<string, string> = {
      "none, bogus signature": rawJwt(header("none"), claimsFor(victim), "c2lnbmF0dXJl"),
      "ES256, 64 zero bytes": rawJwt(header("ES256"), claimsFor(victim), "A".repeat(86)),
    };
    for (const [form, secret] of Object.entries(await publicKeyForms(jwks.keys[0]!)))
      tokens[`HS256 with ${form}`] = await signHs256(header("HS256"), claimsFor(victim), secret);
    const keys = await loadKeySet(env.JWT_SIGNING_KEYS);
    const reasons: Record<string, unknown> = {};
    for (const [name, token] of Object.entries(tokens)) reasons[name] = await verifyAccessTokenSignature(keys, configFrom(env), token);
    expect(reasons).toEqual(
      Object.fromEntries(Object.keys(tokens).map((name) => [name, { ok: false, reason: "ERR_JOSE_ALG_NOT_ALLOWED" }])),
    );
  });
});
