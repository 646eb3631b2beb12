import { describe, expect, it } from "vitest";
import { call, expectProblem } from "../../support/http";

describe("GET /.well-known/oauth-authorization-server (RFC 8414)", () => {
  it("should describe the token, introspection, revocation and JWKS endpoints, the grant, the auth methods and DPoP's algorithms", async () => {
    const response = await call("/.well-known/oauth-authorization-server");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({
      issuer: "https://auth.example.com",
      token_endpoint: "https://auth.test/v1/oauth/token",
      introspection_endpoint: "https://auth.test/v1/oauth/introspect",
      revocation_endpoint: "https://auth.test/v1/oauth/revoke",
      jwks_uri: "https://auth.test/.well-known/jwks.json",
      response_types_supported: [],
      grant_types_supported: ["refresh_token"],
      token_endpoint_auth_methods_supported: ["none"],
      introspection_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      revocation_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      dpop_signing_alg_values_supported: ["ES256", "EdDSA", "Ed25519"],
    });
  });

  it("should answer 405 to other methods", async () => {
    await expectProblem(await call("/.well-known/oauth-authorization-server", { method: "POST" }), 405, "method_not_allowed");
  });
});
