import { env } from "cloudflare:workers";
import { base64url, exportJWK, generateKeyPair } from "jose";
import * as oauth from "oauth4webapi";
import { describe, expect, it } from "vitest";
import { checkDpopProof, normaliseHtu } from "../../../src/worker/tokens/dpop";
import { issueDpopNonce } from "../../../src/worker/tokens/dpop-nonce";
import { type DpopKey, dpopKey } from "../../support/dpop";

/** The stateless rules of RFC 9449 §4.3, against the one verifier every endpoint uses (the replay cache is the registry's: test/registry/dpop-replay.test.ts). */
const URL_ = "https://auth.test/v1/me";
const TOKEN = "an-access-token";
const request = { method: "GET", url: URL_, accessToken: TOKEN };
const withNonces = { ...env, DPOP_NONCES: "on" } as Env;

async function verdict(proof: string, over: Partial<typeof request> = {}, environment: Env = env) {
  return checkDpopProof(environment, proof, { ...request, ...over });
}

async function expectRefused(proof: string, reason: string, over: Partial<typeof request> = {}) {
  expect(await verdict(proof, over)).toEqual({ ok: false, code: "invalid_dpop_proof", reason });
}

const now = () => Math.floor(Date.now() / 1000);

describe("DPoP proof verification (RFC 9449 §4.3)", () => {
  let key: DpopKey;
  const honest = (options: Parameters<DpopKey["proof"]>[2] = {}) => key.proof("GET", URL_, { accessToken: TOKEN, ...options });

  it("should accept an honest ES256 proof and answer its key's RFC 7638 thumbprint", async () => {
    key = await dpopKey();
    const result = await verdict(await honest());
    expect(result).toMatchObject({ ok: true, proof: { jkt: key.jkt, nonceAt: null } });
  });

  it("should accept proofs made by oauth4webapi, ES256 and Ed25519 (its alg name for EdDSA)", async () => {
    const client: oauth.Client = { client_id: "c", token_endpoint_auth_method: "none" };
    for (const alg of ["ES256", "EdDSA"] as const) {
      const handle = oauth.DPoP(client, await oauth.generateKeyPair(alg));
      let proof = "";
      const capture = async (_url: string, init?: RequestInit) => {
        proof = new Headers(init?.headers).get("dpop")!;
        return new Response("{}");
      };
      await oauth.protectedResourceRequest(TOKEN, "GET", new URL(URL_), new Headers(), null, {
        [oauth.customFetch]: capture,
        DPoP: handle,
      });
      const result = await verdict(proof);
      expect(result).toMatchObject({ ok: true, proof: { jkt: await handle.calculateThumbprint() } });
    }
  });

  it("should refuse a wrong typ, including the application/ spelling", async () => {
    key = await dpopKey();
    await expectRefused(await honest({ header: { typ: "JWT" } }), "wrong_typ");
    await expectRefused(await honest({ header: { typ: "application/dpop+jwt" } }), "wrong_typ");
  });

  it("should refuse a symmetric algorithm and alg none", async () => {
    key = await dpopKey();
    const secret = new Uint8Array(32);
    await expectRefused(
      await honest({ header: { alg: "HS256", jwk: { kty: "oct", k: base64url.encode(secret) } }, signingKey: secret }),
      "algorithm_not_allowed",
    );
    const [header, payload] = (await honest()).split(".");
    const none = `${base64url.encode(JSON.stringify({ alg: "none", typ: "dpop+jwt", jwk: key.publicJwk }))}.${payload}.`;
    await expectRefused(none, "not_a_compact_jws");
    const noneSigned = `${base64url.encode(JSON.stringify({ alg: "none", typ: "dpop+jwt", jwk: key.publicJwk }))}.${payload}.${header}`;
    await expectRefused(noneSigned, "algorithm_not_allowed");
  });

  it("should refuse a private key in the header, before importing it", async () => {
    key = await dpopKey();
    await expectRefused(await honest({ header: { jwk: key.privateJwk } }), "private_key_in_jwk");
  });

  it("should refuse a bad signature, and a signature by another key than the header's", async () => {
    key = await dpopKey();
    const [h, p, s] = (await honest()).split(".") as [string, string, string];
    const flipped = `${s.slice(0, 10)}${s[10] === "A" ? "B" : "A"}${s.slice(11)}`;
    await expectRefused(`${h}.${p}.${flipped}`, "bad_signature");
    const other = await generateKeyPair("ES256");
    await expectRefused(await honest({ signingKey: other.privateKey }), "bad_signature");
  });

  it("should refuse a key that does not fit the algorithm", async () => {
    key = await dpopKey();
    const ed = await exportJWK((await generateKeyPair("EdDSA", { extractable: true })).publicKey);
    await expectRefused(await honest({ header: { jwk: ed } }), "jwk_does_not_fit_alg");
  });

  it("should refuse a wrong htm and a wrong htu", async () => {
    key = await dpopKey();
    await expectRefused(await honest({ payload: { htm: "POST" } }), "wrong_htm");
    await expectRefused(await honest({ payload: { htm: "get" } }), "wrong_htm");
    for (const htu of [
      "https://auth.test/v1/sessions",
      "https://auth.test/v1/me/",
      "https://auth.test:8443/v1/me",
      "http://auth.test/v1/me",
      "https://other.test/v1/me",
    ])
      await expectRefused(await honest({ payload: { htu } }), "wrong_htu");
  });

  it("should ignore the query and fragment, and compare scheme and host case-insensitively without the default port", async () => {
    key = await dpopKey();
    expect((await verdict(await honest({ payload: { htu: `${URL_}?a=1#top` } }), { url: `${URL_}?b=2` })).ok).toBe(true);
    expect((await verdict(await honest({ payload: { htu: "HTTPS://Auth.Test:443/v1/me" } }))).ok).toBe(true);
    expect(normaliseHtu("wss://auth.test/v1/sessions/live?x=1")).toBe("https://auth.test/v1/sessions/live");
  });

  it("should refuse a stale iat and a future one, and allow a few seconds of clock skew", async () => {
    key = await dpopKey();
    await expectRefused(await honest({ iat: now() - 66 }), "iat_too_old");
    await expectRefused(await honest({ iat: now() + 30 }), "iat_in_the_future");
    expect((await verdict(await honest({ iat: now() + 4 }))).ok).toBe(true);
    expect((await verdict(await honest({ iat: now() - 60 }))).ok).toBe(true);
    const older = { ...env, DPOP_PROOF_MAX_AGE_SECONDS: "120" } as Env;
    expect((await verdict(await honest({ iat: now() - 100 }), {}, older)).ok).toBe(true);
  });

  it("should refuse a wrong or missing ath at a protected route", async () => {
    key = await dpopKey();
    await expectRefused(await honest({ accessToken: "another-token" }), "wrong_ath");
    await expectRefused(await key.proof("GET", URL_), "wrong_ath");
  });

  it("should refuse a missing or short jti, and two proofs in one header", async () => {
    key = await dpopKey();
    await expectRefused(await honest({ payload: { jti: undefined } }), "bad_jti");
    await expectRefused(await honest({ jti: "short" }), "bad_jti");
    await expectRefused(`${await honest()}, ${await honest()}`, "more_than_one_proof");
  });

  it("should ask for a nonce when nonces are on, and accept a genuine, unexpired one", async () => {
    key = await dpopKey();
    expect(await verdict(await honest(), {}, withNonces)).toEqual({ ok: false, code: "use_dpop_nonce", reason: "no_nonce" });
    const issuedAt = Date.now();
    const nonce = await issueDpopNonce(env.REFRESH_TOKEN_SECRET, issuedAt);
    expect(await verdict(await honest({ nonce }), {}, withNonces)).toMatchObject({ ok: true, proof: { nonceAt: issuedAt } });
    const forged = `${nonce.slice(0, -2)}${nonce.endsWith("AA") ? "BB" : "AA"}`;
    expect(await verdict(await honest({ nonce: forged }), {}, withNonces)).toMatchObject({ code: "use_dpop_nonce" });
    const expired = await issueDpopNonce(env.REFRESH_TOKEN_SECRET, Date.now() - 301_000);
    expect(await verdict(await honest({ nonce: expired }), {}, withNonces)).toMatchObject({ code: "use_dpop_nonce" });
  });
});
