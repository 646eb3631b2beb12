import { describe, expect, it } from "vitest";
import { call, me, refresh, signInOn, signUp } from "../../support/http";
import { basic, expectOAuthError, oauthPost, TEST_CLIENT } from "../../support/oauth";

const revoke = (form: Record<string, string>, authorization?: string | null) => oauthPost("/v1/oauth/revoke", form, authorization);

describe("POST /v1/oauth/revoke", () => {
  it("should end the session of a refresh token: its access and refresh tokens stop working", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    const response = await revoke({ token: phone!.refreshToken, token_type_hint: "refresh_token" });
    expect(response.status).toBe(200);
    expect((await me(phone!.accessToken)).status).toBe(401);
    expect((await refresh(phone!.refreshToken)).status).toBe(401);
    expect((await me(laptop!.accessToken)).status).toBe(200);
  });

  it("should end the session of an access token too", async () => {
    const device = await signUp();
    expect((await revoke({ token: device.accessToken })).status).toBe(200);
    expect((await me(device.accessToken)).status).toBe(401);
    expect((await refresh(device.refreshToken)).status).toBe(401);
  });

  it("should answer 200 for an unknown, forged or already revoked token", async () => {
    const device = await signUp();
    const forged = device.refreshToken.replace(/\.[A-Za-z0-9_-]{43}$/, `.${"A".repeat(43)}`);
    for (const token of ["unknown-token", forged, device.refreshToken, device.refreshToken]) {
      expect((await revoke({ token })).status).toBe(200);
    }
  });

  it("should not end a session for a forged refresh token", async () => {
    const device = await signUp();
    const forged = device.refreshToken.replace(/\.[A-Za-z0-9_-]{43}$/, `.${"A".repeat(43)}`);
    expect((await revoke({ token: forged })).status).toBe(200);
    expect((await me(device.accessToken)).status).toBe(200);
  });

  it("should refuse a caller without valid client credentials and revoke nothing", async () => {
    const device = await signUp();
    for (const authorization of [null, basic(TEST_CLIENT.id, "wrong")]) {
      const response = await revoke({ token: device.refreshToken }, authorization);
      expect(response.headers.get("WWW-Authenticate")).toMatch(/^Basic /);
      await expectOAuthError(response, 401, "invalid_client");
    }
    expect((await me(device.accessToken)).status).toBe(200);
  });

  it("should answer 405 to other methods", async () => {
    await expectOAuthError(await call("/v1/oauth/revoke", { method: "DELETE" }), 405, "invalid_request");
  });
});
