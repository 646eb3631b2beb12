import { listDurableObjectIds } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { claimsOf, type DpopKey, dpopKey, signUpBound, withProof } from "../../support/dpop";
import { call, me, refresh, signUp } from "../../support/http";
import { expectOAuthError, oauthPost } from "../../support/oauth";
import { configure } from "../../support/registry";

/** `POST /v1/oauth/token`, form-encoded, as a public client (no client authentication). */
async function token(form: Record<string, string>, key: DpopKey | null = null, headers: Record<string, string> = {}) {
  return call("/v1/oauth/token", {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      ...(key ? { DPoP: await key.proof("POST", "/v1/oauth/token") } : {}),
      ...headers,
    },
    body: new URLSearchParams(form).toString(),
  });
}

describe("POST /v1/oauth/token (RFC 6749 §6, refresh_token grant)", () => {
  it("should answer the standard token response for an unbound session, rotating the refresh token", async () => {
    const device = await signUp();
    const response = await token({ grant_type: "refresh_token", refresh_token: device.refreshToken, client_id: "any-public-client" });
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(["access_token", "expires_in", "refresh_token", "token_type"]);
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 600 });
    expect(body.refresh_token).not.toBe(device.refreshToken);
    expect((await me(body.access_token as string)).status).toBe(200);
  });

  it("should share /v1/auth/refresh's rotation: a grace retry gets the same successor at either endpoint, and reuse ends the session", async () => {
    const device = await signUp();
    const first = (await (await token({ grant_type: "refresh_token", refresh_token: device.refreshToken })).json()) as any;
    const retried = (await (await refresh(device.refreshToken)).json()) as any;
    expect(retried.refresh_token).toBe(first.refresh_token);
    await configure(device.userId, { REFRESH_GRACE_SECONDS: "0" });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await expectOAuthError(await token({ grant_type: "refresh_token", refresh_token: device.refreshToken }), 400, "invalid_grant");
    await expectOAuthError(await token({ grant_type: "refresh_token", refresh_token: first.refresh_token }), 400, "invalid_grant");
    expect((await me(first.access_token)).status).toBe(401);
  });

  it("should answer a DPoP-bound session's refresh with token_type DPoP, and refuse it without the key (400 invalid_dpop_proof)", async () => {
    const key = await dpopKey();
    const device = await signUpBound(key);
    await expectOAuthError(await token({ grant_type: "refresh_token", refresh_token: device.refreshToken }), 400, "invalid_dpop_proof");
    await expectOAuthError(
      await token({ grant_type: "refresh_token", refresh_token: device.refreshToken }, await dpopKey()),
      400,
      "invalid_dpop_proof",
    );
    const response = await token({ grant_type: "refresh_token", refresh_token: device.refreshToken }, key);
    expect(response.status).toBe(200);
    const body = (await response.json()) as any;
    expect(body.token_type).toBe("DPoP");
    expect(claimsOf(body.access_token).cnf).toEqual({ jkt: key.jkt });
    const events = (await (await withProof("/v1/security-events", body.access_token, key)).json()) as any;
    const rejected = events.events.filter((e: { type: string }) => e.type === "dpop_proof_rejected");
    expect(rejected[0].details).toMatchObject({ endpoint: "oauth_token", reason: "missing" });
  });

  it("should refuse an unknown, forged or revoked refresh token with invalid_grant", async () => {
    const device = await signUp();
    const forged = device.refreshToken.replace(/\.[A-Za-z0-9_-]{43}$/, `.${"A".repeat(43)}`);
    for (const refresh_token of ["not-a-token", forged]) {
      await expectOAuthError(await token({ grant_type: "refresh_token", refresh_token }), 400, "invalid_grant");
    }
    await call("/v1/auth/logout", { method: "POST", token: device.accessToken });
    await expectOAuthError(await token({ grant_type: "refresh_token", refresh_token: device.refreshToken }), 400, "invalid_grant");
  });

  it("should refuse other grant types, a missing parameter, client credentials, JSON and a repeated parameter", async () => {
    const device = await signUp();
    await expectOAuthError(await token({ grant_type: "password", username: "a", password: "b" }), 400, "unsupported_grant_type");
    await expectOAuthError(await token({ grant_type: "authorization_code", code: "x" }), 400, "unsupported_grant_type");
    await expectOAuthError(await token({ refresh_token: device.refreshToken }), 400, "invalid_request");
    await expectOAuthError(await token({ grant_type: "refresh_token" }), 400, "invalid_request");
    await expectOAuthError(
      await token({ grant_type: "refresh_token", refresh_token: device.refreshToken, client_id: "c", client_secret: "s" }),
      401,
      "invalid_client",
    );
    await expectOAuthError(
      await call("/v1/oauth/token", { method: "POST", json: { grant_type: "refresh_token", refresh_token: device.refreshToken } }),
      400,
      "invalid_request",
    );
    const repeated = await call("/v1/oauth/token", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `grant_type=refresh_token&refresh_token=${device.refreshToken}&refresh_token=${device.refreshToken}`,
    });
    await expectOAuthError(repeated, 400, "invalid_request");
    // None of it spent the token.
    expect((await token({ grant_type: "refresh_token", refresh_token: device.refreshToken })).status).toBe(200);
  });

  it("should answer the per-session refresh limit with 429 temporarily_unavailable and Retry-After", async () => {
    const device = await signUp();
    await configure(device.userId, { REFRESH_SESSION_LIMIT: "1" });
    const first = (await (await token({ grant_type: "refresh_token", refresh_token: device.refreshToken })).json()) as any;
    const limited = await token({ grant_type: "refresh_token", refresh_token: first.refresh_token });
    await expectOAuthError(limited, 429, "temporarily_unavailable");
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThan(0);
  });

  it("should answer every error under /v1/oauth/ in OAuth's format: 404, 405 and 413 included", async () => {
    await expectOAuthError(await call("/v1/oauth/token"), 405, "invalid_request");
    await expectOAuthError(await call("/v1/oauth/authorize"), 404, "invalid_request");
    const big = await call("/v1/oauth/token", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `grant_type=refresh_token&refresh_token=${"x".repeat(20_000)}`,
    });
    await expectOAuthError(big, 413, "invalid_request");
  });
});

describe("POST /v1/oauth/revoke with a refresh token", () => {
  it("should check the token's tag before routing by it: a forged token wakes no registry", async () => {
    const device = await signUp();
    const stranger = `usr_${"S".repeat(21)}${Date.now() % 10}`;
    const forged = device.refreshToken.replace(device.userId, stranger).replace(/\.[A-Za-z0-9_-]{43}$/, `.${"A".repeat(43)}`);
    expect((await oauthPost("/v1/oauth/revoke", { token: forged })).status).toBe(200);
    const woken = await listDurableObjectIds(env.SESSION_REGISTRY);
    const strangers = env.SESSION_REGISTRY.idFromName(stranger);
    expect(woken.some((id) => id.equals(strangers))).toBe(false);
    expect((await me(device.accessToken)).status).toBe(200);
  });
});
