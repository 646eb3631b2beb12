import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import * as oauth from "oauth4webapi";
import { describe, expect, it } from "vitest";
import { app } from "../../../src/worker/app";
import { freshIp, PASSWORD, refresh, signUp, uniqueEmail } from "../../support/http";
import { TEST_CLIENT } from "../../support/oauth";

/**
 * oauth4webapi (panva's OAuth client, which no one here wrote) against the service, in workerd:
 * discovery, the refresh grant with DPoP, a DPoP protected-resource request, introspection and
 * revocation, error paths included. Its `customFetch` routes each request to the Worker, with a
 * client address of its own (the per-IP limits are real in every test).
 */
const ISSUER = new URL("https://auth.example.com");
const publicClient: oauth.Client = { client_id: "a-public-client", token_endpoint_auth_method: "none" };
const backend: oauth.Client = { client_id: TEST_CLIENT.id };

const toWorker = (environment?: Env) => async (url: string, init?: RequestInit) => {
  const request = new Request(url, init);
  request.headers.set("CF-Connecting-IP", freshIp());
  return environment ? app.fetch(request, environment, createExecutionContext()) : exports.default.fetch(request);
};
const options = (DPoP?: oauth.DPoPHandle, environment?: Env) => ({ [oauth.customFetch]: toWorker(environment), ...(DPoP ? { DPoP } : {}) });

async function discover(): Promise<oauth.AuthorizationServer> {
  return oauth.processDiscoveryResponse(ISSUER, await oauth.discoveryRequest(ISSUER, { ...options(), algorithm: "oauth2" }));
}

/** A bound signup whose proof oauth4webapi made (its handle signs a request it never sends). */
async function signUpWith(DPoP: oauth.DPoPHandle): Promise<{ refreshToken: string }> {
  const url = new URL("/v1/auth/signup", ISSUER);
  let proof = "";
  const capture = async (_url: string, init?: RequestInit) => {
    proof = new Headers(init?.headers).get("dpop") ?? "";
    return new Response(null, { status: 204 });
  };
  await oauth.protectedResourceRequest("unused", "POST", url, new Headers(), null, { [oauth.customFetch]: capture, DPoP });
  const response = await toWorker()(url.href, {
    method: "POST",
    headers: { "Content-Type": "application/json", DPoP: proof },
    body: JSON.stringify({ email: uniqueEmail("o4w"), password: PASSWORD, token_transport: "body" }),
  });
  expect(response.status).toBe(201);
  const body = (await response.json()) as { token_type: string; refresh_token: string };
  expect(body.token_type).toBe("DPoP");
  return { refreshToken: body.refresh_token };
}

describe("oauth4webapi as the client", () => {
  it("should discover the server (RFC 8414) and find every endpoint and DPoP's algorithms", async () => {
    const as = await discover();
    expect(as.token_endpoint).toBe("https://auth.example.com/v1/oauth/token");
    expect(as.dpop_signing_alg_values_supported).toContain("ES256");
  });

  it("should refresh with DPoP at the token endpoint and call /v1/me with DPoP; a second key's proofs are refused", async () => {
    const as = await discover();
    const DPoP = oauth.DPoP(publicClient, await oauth.generateKeyPair("ES256"));
    const { refreshToken } = await signUpWith(DPoP);

    const other = oauth.DPoP(publicClient, await oauth.generateKeyPair("ES256"));
    const stolen = await oauth.refreshTokenGrantRequest(as, publicClient, oauth.None(), refreshToken, options(other));
    await expect(oauth.processRefreshTokenResponse(as, publicClient, stolen)).rejects.toMatchObject({
      error: "invalid_dpop_proof",
      status: 400,
    });

    const response = await oauth.refreshTokenGrantRequest(as, publicClient, oauth.None(), refreshToken, options(DPoP));
    const tokens = await oauth.processRefreshTokenResponse(as, publicClient, response);
    expect(tokens.token_type).toBe("dpop");
    expect(tokens.refresh_token).not.toBe(refreshToken);

    const me = await oauth.protectedResourceRequest(
      tokens.access_token,
      "GET",
      new URL("/v1/me?x=1", ISSUER),
      new Headers(),
      null,
      options(DPoP),
    );
    expect(me.status).toBe(200);
    expect(((await me.json()) as any).session.binding).toBe("dpop");

    const foreign = oauth.protectedResourceRequest(
      tokens.access_token,
      "GET",
      new URL("/v1/me", ISSUER),
      new Headers(),
      null,
      options(other),
    );
    await expect(foreign).rejects.toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    await expect(foreign).rejects.toMatchObject({ cause: [{ scheme: "dpop", parameters: { error: "invalid_dpop_proof" } }] });
    // The session is untouched by either refusal.
    const again = await oauth.refreshTokenGrantRequest(as, publicClient, oauth.None(), tokens.refresh_token!, options(DPoP));
    expect((await oauth.processRefreshTokenResponse(as, publicClient, again)).token_type).toBe("dpop");
  });

  it("should get a server nonce when nonces are on: use_dpop_nonce once, then the retry and the resource succeed", async () => {
    const nonces = { ...env, DPOP_NONCES: "on" } as Env;
    const as = await discover();
    const DPoP = oauth.DPoP(publicClient, await oauth.generateKeyPair("EdDSA"));
    const { refreshToken } = await signUpWith(DPoP);
    const first = await oauth.refreshTokenGrantRequest(as, publicClient, oauth.None(), refreshToken, options(DPoP, nonces));
    expect(first.headers.get("DPoP-Nonce")).toBeTruthy();
    const error = await oauth.processRefreshTokenResponse(as, publicClient, first).catch((e: unknown) => e);
    expect(oauth.isDPoPNonceError(error)).toBe(true);
    // oauth4webapi keeps the nonce from the refusal; its retry carries it.
    const retry = await oauth.refreshTokenGrantRequest(as, publicClient, oauth.None(), refreshToken, options(DPoP, nonces));
    const tokens = await oauth.processRefreshTokenResponse(as, publicClient, retry);
    const me = await oauth.protectedResourceRequest(
      tokens.access_token,
      "GET",
      new URL("/v1/me", ISSUER),
      new Headers(),
      null,
      options(DPoP, nonces),
    );
    expect(me.status).toBe(200);
  });

  it("should introspect and revoke with client_secret_basic and client_secret_post", async () => {
    const as = await discover();
    const device = await signUp();
    const introspected = await oauth.introspectionRequest(
      as,
      backend,
      oauth.ClientSecretBasic(TEST_CLIENT.secret),
      device.accessToken,
      options(),
    );
    expect(await oauth.processIntrospectionResponse(as, backend, introspected)).toMatchObject({ active: true, sub: device.userId });
    const revoked = await oauth.revocationRequest(as, backend, oauth.ClientSecretPost(TEST_CLIENT.secret), device.refreshToken, options());
    await expect(oauth.processRevocationResponse(revoked)).resolves.toBeUndefined();
    expect((await refresh(device.refreshToken)).status).toBe(401);
    const after = await oauth.introspectionRequest(as, backend, oauth.ClientSecretPost(TEST_CLIENT.secret), device.accessToken, options());
    expect(await oauth.processIntrospectionResponse(as, backend, after)).toEqual({ active: false });
  });

  it("should read the OAuth errors of introspection and revocation: invalid_client, and temporarily_unavailable when limited", async () => {
    const as = await discover();
    const device = await signUp();
    const ip = freshIp();
    const fromOneAddress = async (url: string, init?: RequestInit) => {
      const request = new Request(url, init);
      request.headers.set("CF-Connecting-IP", ip);
      return exports.default.fetch(request);
    };
    const wrong = oauth.ClientSecretPost("a-wrong-secret");
    for (let i = 0; i < 20; i++) {
      const response = await oauth.revocationRequest(as, backend, wrong, device.refreshToken, { [oauth.customFetch]: fromOneAddress });
      const error = await oauth.processRevocationResponse(response).catch((e: unknown) => e);
      // A 401 with a challenge is read as the challenge, with the body's error beside it.
      expect(error).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
      expect(error).toMatchObject({ cause: [{ scheme: "basic" }], response: { status: 401 } });
      expect(await (error as oauth.WWWAuthenticateChallengeError).response.json()).toMatchObject({ error: "invalid_client" });
    }
    const limited = await oauth.introspectionRequest(as, backend, oauth.ClientSecretBasic(TEST_CLIENT.secret), device.accessToken, {
      [oauth.customFetch]: fromOneAddress,
    });
    await expect(oauth.processIntrospectionResponse(as, backend, limited)).rejects.toMatchObject({
      error: "temporarily_unavailable",
      status: 429,
    });
    expect(limited.headers.get("Retry-After")).toMatch(/^\d+$/);
  });
});
