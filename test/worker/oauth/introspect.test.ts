import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, refresh, signInOn, signUp } from "../../support/http";
import { basic, expectOAuthError, oauthPost, TEST_CLIENT } from "../../support/oauth";

const introspect = (form: Record<string, string>, authorization?: string | null) => oauthPost("/v1/oauth/introspect", form, authorization);

describe("POST /v1/oauth/introspect client authentication", () => {
  const refused: [string, string | null][] = [
    ["no credentials", null],
    ["a wrong secret", basic(TEST_CLIENT.id, "wrong-secret")],
    ["an unknown client", basic("someone-else", TEST_CLIENT.secret)],
    ["a Bearer token instead of Basic", "Bearer abc.def.ghi"],
    ["Basic without a colon", `Basic ${btoa(TEST_CLIENT.id)}`],
    ["Basic that is not base64", "Basic !!!"],
  ];

  it.each(refused)("should refuse %s with 401 invalid_client and a Basic challenge", async (_, authorization) => {
    const device = await signUp();
    const response = await introspect({ token: device.accessToken }, authorization);
    expect(response.headers.get("WWW-Authenticate")).toMatch(/^Basic realm=/);
    const body = await expectOAuthError(response, 401, "invalid_client");
    expect(body).not.toHaveProperty("active");
  });
});

describe("POST /v1/oauth/introspect", () => {
  it("should describe an active access token", async () => {
    const device = await signUp();
    const response = await introspect({ token: device.accessToken, token_type_hint: "access_token" });
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({
      active: true,
      sub: device.userId,
      sid: device.sessionId,
      exp: expect.any(Number),
      iat: expect.any(Number),
      iss: "https://auth.example.com",
      aud: "https://api.example.com",
      jti: expect.any(String),
      token_type: "Bearer",
    });
  });

  it("should answer only {active:false} for a revoked session's token", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    await env.SESSION_SERVICE.revokeSession(laptop!.userId, phone!.sessionId, "lost_device");
    const response = await introspect({ token: phone!.accessToken });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ active: false });
  });

  it("should answer {active:false} for garbage, a tampered token and a refresh token", async () => {
    const device = await signUp();
    const tampered = `${device.accessToken.slice(0, -2)}${device.accessToken.endsWith("AA") ? "BB" : "AA"}`;
    for (const token of ["garbage", tampered, device.refreshToken]) {
      const response = await introspect({ token });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ active: false });
    }
  });

  it("should refuse a JSON body, a missing token and a repeated token with 400 validation_failed", async () => {
    const device = await signUp();
    const json = await call("/v1/oauth/introspect", {
      method: "POST",
      json: { token: device.accessToken },
      headers: { Authorization: basic(TEST_CLIENT.id, TEST_CLIENT.secret) },
    });
    await expectOAuthError(json, 400, "invalid_request");
    await expectOAuthError(await introspect({ token_type_hint: "access_token" }), 400, "invalid_request");
    const repeated = await call("/v1/oauth/introspect", {
      method: "POST",
      body: `token=${device.accessToken}&token=${device.accessToken}`,
      headers: { "Content-Type": "application/x-www-form-urlencoded", Authorization: basic(TEST_CLIENT.id, TEST_CLIENT.secret) },
    });
    await expectOAuthError(repeated, 400, "invalid_request");
  });

  it("should answer 405 to other methods", async () => {
    const response = await call("/v1/oauth/introspect");
    expect(response.headers.get("Allow")).toBe("POST");
    await expectOAuthError(response, 405, "invalid_request");
  });

  it("should keep working for a token whose session refreshed (the access token stays live)", async () => {
    const device = await signUp();
    expect((await refresh(device.refreshToken)).status).toBe(200);
    expect(await (await introspect({ token: device.accessToken })).json()).toMatchObject({ active: true });
  });
});
