import { afterEach, describe, expect, it, vi } from "vitest";
import { call, me, signUp } from "../../support/http";
import { basic, expectOAuthError, type OAuthPath, oauthPost, postCredentials, TEST_CLIENT } from "../../support/oauth";

// client_secret_post (RFC 6749 §2.3.1): the credentials in the form body, no Authorization header.
const viaBody = (path: OAuthPath, form: Record<string, string>) => oauthPost(path, form, null);

afterEach(() => {
  vi.restoreAllMocks();
});

describe("client_secret_post", () => {
  it("should authenticate an introspection with client_id and client_secret in the body", async () => {
    const device = await signUp();
    const response = await viaBody("/v1/oauth/introspect", { token: device.accessToken, ...postCredentials() });
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(await response.json()).toMatchObject({ active: true, sub: device.userId, sid: device.sessionId, token_type: "Bearer" });
  });

  it("should authenticate a revocation with client_id and client_secret in the body, and end the session", async () => {
    const device = await signUp();
    const response = await viaBody("/v1/oauth/revoke", { token: device.refreshToken, ...postCredentials() });
    expect(response.status).toBe(200);
    expect((await me(device.accessToken)).status).toBe(401);
  });

  it("should refuse a wrong secret or an unknown client in the body with 401 invalid_client, on both endpoints", async () => {
    const device = await signUp();
    for (const path of ["/v1/oauth/introspect", "/v1/oauth/revoke"] as const) {
      // Control: the right secret passes, so each refusal below is the secret's doing.
      expect((await viaBody(path, { token: "garbage", ...postCredentials() })).status, path).toBe(200);
      for (const credentials of [postCredentials(TEST_CLIENT.id, "wrong-secret"), postCredentials("someone-else", TEST_CLIENT.secret)]) {
        const response = await viaBody(path, { token: device.refreshToken, ...credentials });
        const body = await expectOAuthError(response, 401, "invalid_client");
        expect(body).toMatchObject({ error: "invalid_client" });
        // Every 401 names an accepted scheme (RFC 9110 §15.5.2); Basic is the one that has a challenge.
        expect(response.headers.get("WWW-Authenticate")).toMatch(/^Basic realm=/);
      }
    }
    expect((await me(device.accessToken)).status).toBe(200);
  });

  it("should refuse incomplete body credentials with 401 invalid_client and accept complete ones", async () => {
    const device = await signUp();
    const incomplete: Record<string, string>[] = [
      { client_id: TEST_CLIENT.id },
      { client_secret: TEST_CLIENT.secret },
      { client_id: TEST_CLIENT.id, client_secret: "" },
      { client_id: `${TEST_CLIENT.id} `, client_secret: TEST_CLIENT.secret },
    ];
    for (const credentials of incomplete) {
      await expectOAuthError(await viaBody("/v1/oauth/introspect", { token: device.accessToken, ...credentials }), 401, "invalid_client");
    }
    expect((await viaBody("/v1/oauth/introspect", { token: device.accessToken, ...postCredentials() })).status).toBe(200);
  });

  it("should take an empty Authorization header for none: the body's credentials authenticate", async () => {
    const device = await signUp();
    const response = await oauthPost("/v1/oauth/introspect", { token: device.accessToken, ...postCredentials() }, "");
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ active: true, sid: device.sessionId });
  });

  it("should refuse body credentials sent twice or as JSON with 400 validation_failed", async () => {
    const device = await signUp();
    const form = new URLSearchParams({ token: device.accessToken, ...postCredentials() });
    form.append("client_secret", TEST_CLIENT.secret);
    const repeated = await call("/v1/oauth/introspect", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: form.toString(),
    });
    await expectOAuthError(repeated, 400, "invalid_request");
    const json = await call("/v1/oauth/introspect", { method: "POST", json: { token: device.accessToken, ...postCredentials() } });
    await expectOAuthError(json, 400, "invalid_request");
  });
});

describe("one client authentication method per request (RFC 6749 §2.3)", () => {
  const right = basic(TEST_CLIENT.id, TEST_CLIENT.secret);
  const wrong = basic(TEST_CLIENT.id, "wrong-secret");
  const both: [string, string, Record<string, string>][] = [
    ["both right", right, postCredentials()],
    ["right Basic, wrong body secret", right, postCredentials(TEST_CLIENT.id, "wrong-secret")],
    ["wrong Basic, right body secret", wrong, postCredentials()],
    ["a Bearer header beside a right body secret", "Bearer abc.def.ghi", postCredentials()],
    ["right Basic beside a lone body client_secret", right, { client_secret: TEST_CLIENT.secret }],
  ];

  it.each(both)("should refuse %s with 400 invalid_request and revoke nothing", async (_, authorization, credentials) => {
    const device = await signUp();
    const response = await oauthPost("/v1/oauth/revoke", { token: device.refreshToken, ...credentials }, authorization);
    const body = await expectOAuthError(response, 400, "invalid_request");
    // The client is told what it did wrong, not only the error's generic title.
    expect(body).toMatchObject({
      error: "invalid_request",
      error_description: "Client credentials were sent both in the Authorization header and in the body; use one method",
    });
    expect(response.headers.get("WWW-Authenticate")).toBeNull();
    expect((await me(device.accessToken)).status).toBe(200);
  });

  it("should accept a body client_id that names the Basic client, and refuse another with 400 invalid_request", async () => {
    const device = await signUp();
    const same = await oauthPost("/v1/oauth/introspect", { token: device.accessToken, client_id: TEST_CLIENT.id });
    expect(await same.json()).toMatchObject({ active: true });
    const other = await oauthPost("/v1/oauth/introspect", { token: device.accessToken, client_id: "someone-else" });
    expect(await expectOAuthError(other, 400, "invalid_request")).toMatchObject({
      error_description: "The body's client_id is not the client of the Authorization header",
    });
  });
});

describe("client secrets in logs", () => {
  it("should never log a client secret sent in the body, right or wrong", async () => {
    const lines: string[] = [];
    for (const method of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(" "));
      });
    }
    const device = await signUp();
    const wrongSecret = "a distinctive wrong client secret 5d2c";
    expect((await viaBody("/v1/oauth/introspect", { token: device.accessToken, ...postCredentials() })).status).toBe(200);
    expect(
      (await viaBody("/v1/oauth/introspect", { token: device.accessToken, ...postCredentials(TEST_CLIENT.id, wrongSecret) })).status,
    ).toBe(401);
    expect((await oauthPost("/v1/oauth/revoke", { token: device.refreshToken, ...postCredentials() })).status).toBe(400);
    expect((await viaBody("/v1/oauth/revoke", { token: device.refreshToken, ...postCredentials() })).status).toBe(200);

    expect(lines.some((line) => line.includes('"msg":"token introspected"') && line.includes(`"clientId":"${TEST_CLIENT.id}"`))).toBe(true);
    for (const line of lines) {
      expect(line).not.toContain(TEST_CLIENT.secret);
      expect(line).not.toContain(wrongSecret);
      expect(line).not.toContain(encodeURIComponent(wrongSecret));
    }
  });
});
