import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { addKey, type Jwk, type JwkSet, promoteKey, removeKey, retireKeys } from "../../../scripts/jwk-set.mjs";
import { configFrom } from "../../../src/shared/config";
import { signAccessToken, verifyAccessTokenSignature } from "../../../src/worker/tokens/access";
import { checkAccessToken } from "../../../src/worker/tokens/check";
import { loadKeySet } from "../../../src/worker/tokens/keys";
import { signUp } from "../../support/http";

async function newKey(kid: string): Promise<Jwk> {
  const { privateKey } = await generateKeyPair("EdDSA", { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: "EdDSA", use: "sig" } as Jwk;
}

const PASSWORD_AUTH = { authTime: Date.now(), amr: ["pwd" as const], signInMethod: "password" as const };
const keysOf = (set: JwkSet) => loadKeySet(JSON.stringify(set));
/** The service's own verification, with another JWT_SIGNING_KEYS, as a deploy with that secret would run it. */
const withKeys = (set: JwkSet) => ({ ...env, JWT_SIGNING_KEYS: JSON.stringify(set) }) as Env;

describe("signing-key rotation", () => {
  it("should keep verifying tokens of the previous key after rotation, until that key is removed", async () => {
    const device = await signUp();
    const subject = { userId: device.userId, sessionId: device.sessionId, auth: PASSWORD_AUTH };
    const config = configFrom(env);
    const before: JwkSet = { keys: [await newKey("2026-11")] };
    const oldToken = await signAccessToken(await keysOf(before), config, subject);

    const staged = addKey(before, await newKey("2026-12"));
    expect((await keysOf(staged)).signing.kid).toBe("2026-11");
    expect((await keysOf(staged)).jwks.keys.map((k) => k.kid)).toEqual(["2026-12", "2026-11"]);

    const promoted = promoteKey(staged, "2026-12");
    const newToken = await signAccessToken(await keysOf(promoted), config, subject);
    expect(JSON.parse(atob(newToken.split(".")[0]!)).kid).toBe("2026-12");
    expect(await checkAccessToken(withKeys(promoted), oldToken)).toMatchObject({ ok: true });

    const retired = retireKeys(promoted);
    expect(retired.keys.find((k) => k.kid === "2026-11")).not.toHaveProperty("d");
    expect((await keysOf(retired)).signing.kid).toBe("2026-12");
    expect(await checkAccessToken(withKeys(retired), oldToken)).toMatchObject({ ok: true });
    expect(await checkAccessToken(withKeys(retired), newToken)).toMatchObject({ ok: true });

    const removed = removeKey(retired, "2026-11");
    expect(await checkAccessToken(withKeys(removed), oldToken)).toEqual({ ok: false, code: "invalid_token" });
    expect(await checkAccessToken(withKeys(removed), newToken)).toMatchObject({ ok: true });
    expect((await keysOf(removed)).jwks.keys.map((k) => k.kid)).toEqual(["2026-12"]);
  });

  it("should never publish a private part in the JWKS", async () => {
    const set = addKey({ keys: [await newKey("a")] }, await newKey("b"));
    for (const key of (await keysOf(set)).jwks.keys) expect(key).not.toHaveProperty("d");
  });

  it("should refuse to remove the signing key or promote a public-only key", async () => {
    const retired = retireKeys(promoteKey(addKey({ keys: [await newKey("old")] }, await newKey("new")), "new"));
    expect(() => removeKey(retired, "new")).toThrow(/signing key/);
    expect(() => promoteKey(retired, "old")).toThrow(/cannot sign/);
  });

  it("should refuse a token signed by a key that is not in the set at all", async () => {
    const config = configFrom(env);
    const stranger = await signAccessToken(await keysOf({ keys: [await newKey("stranger")] }), config, {
      userId: "usr_AAAAAAAAAAAAAAAAAAAAAA",
      sessionId: "ses_AAAAAAAAAAAAAAAAAAAAAA",
      auth: PASSWORD_AUTH,
    });
    const current = await loadKeySet(env.JWT_SIGNING_KEYS);
    expect(await verifyAccessTokenSignature(current, config, stranger)).toMatchObject({ ok: false });
  });
});
