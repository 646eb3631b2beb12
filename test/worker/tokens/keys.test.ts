import { exportJWK, generateKeyPair, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { loadKeySet } from "../../../src/worker/tokens/keys";

/**
 * JWT_SIGNING_KEYS as src/worker/tokens/keys.ts reads it. A bad secret is a ConfigurationError
 * whose `why` the 503's log line carries (`invalid configuration`, docs/configuration.md), so an
 * operator learns what to fix without the secret being logged.
 */
async function newKey(kid: string): Promise<JWK & { kid: string; d: string }> {
  const { privateKey } = await generateKeyPair("EdDSA", { extractable: true });
  return { ...(await exportJWK(privateKey)), kid } as JWK & { kid: string; d: string };
}
const publicPart = ({ d: _d, ...key }: JWK) => key;

describe("JWT_SIGNING_KEYS", () => {
  it("should refuse each malformed secret with a ConfigurationError that says why", async () => {
    const key = await newKey("k");
    const cases: [string, string | undefined, string][] = [
      ["unset", undefined, "is not set"],
      ["empty", "", "is not set"],
      ["not JSON", "{not json", "is not JSON"],
      ["an RSA key", JSON.stringify({ ...key, kty: "RSA" }), "every signing key must be an Ed25519 JWK"],
      ["an X25519 key", JSON.stringify({ ...key, crv: "X25519" }), "every signing key must be an Ed25519 JWK"],
      ["a key without x", JSON.stringify({ ...key, x: undefined }), "every signing key must be an Ed25519 JWK"],
      ["a list holding a string", JSON.stringify(["k"]), "every signing key must be an Ed25519 JWK"],
      ["a list holding null", JSON.stringify([null]), "every signing key must be an Ed25519 JWK"],
      ["a key without kid", JSON.stringify({ ...key, kid: undefined }), "every signing key needs a kid of 1-64 characters"],
      ["a key with an empty kid", JSON.stringify({ ...key, kid: "" }), "every signing key needs a kid of 1-64 characters"],
      [
        "a key with a kid of 65 characters",
        JSON.stringify({ ...key, kid: "k".repeat(65) }),
        "every signing key needs a kid of 1-64 characters",
      ],
      ["a key with a numeric kid", JSON.stringify({ ...key, kid: 1 }), "every signing key needs a kid of 1-64 characters"],
      ["only public keys", JSON.stringify({ keys: [publicPart(key)] }), "holds no private key"],
      ["an empty set", JSON.stringify({ keys: [] }), "holds no private key"],
      ["a key whose x is not 32 bytes", JSON.stringify({ ...key, x: "AAAA" }), "key k is not a valid Ed25519 key"],
    ];
    const outcomes = [];
    for (const [name, secret] of cases)
      outcomes.push([
        name,
        await loadKeySet(secret).then(
          () => "loaded",
          (error) => [error.name, error.setting, error.why],
        ),
      ]);
    expect(outcomes).toEqual(cases.map(([name, , why]) => [name, ["ConfigurationError", "JWT_SIGNING_KEYS", why]]));
  });

  it("should read a JWK Set, a bare list of JWKs and a single JWK, with a kid of up to 64 characters", async () => {
    const key = await newKey("k".repeat(64));
    for (const secret of [{ keys: [key] }, [key], key]) {
      const keys = await loadKeySet(JSON.stringify(secret));
      expect(keys.signing.kid).toBe(key.kid);
      expect([...keys.verifying.keys()]).toEqual([key.kid]);
    }
  });

  it("should sign with the last key that has a private part, verify with every key, and publish none of them privately", async () => {
    const [older, signer, retired] = [await newKey("older"), await newKey("signer"), await newKey("retired")];
    const keys = await loadKeySet(JSON.stringify({ keys: [older, signer, publicPart(retired)] }));
    expect(keys.signing.kid).toBe("signer");
    expect([...keys.verifying.keys()]).toEqual(["older", "signer", "retired"]);
    expect(keys.jwks.keys).toEqual(
      [older, signer, retired].map(({ kid, x }) => ({ kty: "OKP", crv: "Ed25519", x, kid, alg: "EdDSA", use: "sig" })),
    );
  });

  it("should parse a secret once, however often it is asked for", async () => {
    const secret = JSON.stringify(await newKey("once"));
    expect(loadKeySet(secret)).toBe(loadKeySet(secret));
  });
});
