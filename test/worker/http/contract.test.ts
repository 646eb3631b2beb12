import { describe, expect, it } from "vitest";
import { call, expectProblem, signUp } from "../../support/http";

describe("HTTP conventions", () => {
  it("should answer healthz", async () => {
    const response = await call("/healthz");
    expect(response.status).toBe(200);
  });

  it("should publish the signing key in the JWKS with its kid, and sign access tokens with it", async () => {
    const response = await call("/.well-known/jwks.json");
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toMatch(/max-age=\d+/);
    const { keys } = (await response.json()) as { keys: any[] };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig", kid: "test" });
    expect(keys[0].d).toBeUndefined();
    const { accessToken } = await signUp();
    const header = JSON.parse(atob(accessToken.split(".")[0]!.replace(/-/g, "+").replace(/_/g, "/")));
    expect(header).toEqual({ alg: "EdDSA", kid: "test", typ: "at+jwt" });
    const claims = JSON.parse(atob(accessToken.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")));
    expect(Object.keys(claims).sort()).toEqual(["amr", "aud", "auth_time", "exp", "iat", "iss", "jti", "sid", "sub"]);
    expect(claims.exp - claims.iat).toBe(600);
    // docs/api.md: `jti` is `at_` and 128 random bits.
    expect(claims.jti).toMatch(/^at_[A-Za-z0-9_-]{22}$/);
  });

  it("should answer 405 with Allow for a wrong method on a known path", async () => {
    const cases: [string, string, string][] = [
      ["GET", "/v1/auth/login", "POST"],
      ["PUT", "/v1/auth/signup", "POST"],
      ["DELETE", "/v1/auth/refresh", "POST"],
      ["GET", "/v1/auth/logout", "POST"],
      ["POST", "/v1/me", "GET, HEAD"],
      ["POST", "/v1/sessions", "GET, HEAD"],
      ["GET", "/v1/sessions/ses_abc", "PATCH, DELETE"],
      ["POST", "/v1/security-events", "GET, HEAD"],
      ["POST", "/.well-known/jwks.json", "GET, HEAD"],
      ["DELETE", "/healthz", "GET, HEAD"],
      ["GET", "/v1/auth/passkey", "POST"],
      ["GET", "/v1/auth/passkey/options", "POST"],
      ["GET", "/v1/auth/reauthenticate", "POST"],
      ["PUT", "/v1/passkeys", "GET, POST, HEAD"],
      ["GET", "/v1/passkeys/registration/options", "POST"],
      ["GET", "/v1/passkeys/abc", "PATCH, DELETE"],
    ];
    for (const [method, path, allow] of cases) {
      const response = await call(path, { method });
      await expectProblem(response, 405, "method_not_allowed");
      expect(response.headers.get("Allow")).toBe(allow);
    }
  });

  it("should answer 404 problem+json for an unknown path", async () => {
    await expectProblem(await call("/v1/nothing-here"), 404, "not_found");
  });

  it("should refuse a body over 16 KiB with 413, with and without Content-Length", async () => {
    const big = JSON.stringify({ email: "a@example.com", password: "x".repeat(17 * 1024) });
    await expectProblem(
      await call("/v1/auth/signup", { method: "POST", body: big, headers: { "Content-Type": "application/json" } }),
      413,
      "payload_too_large",
    );
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const chunked = await call("/v1/auth/signup", {
      method: "POST",
      body: stream,
      headers: { "Content-Type": "application/json" },
      duplex: "half",
    } as RequestInit);
    await expectProblem(chunked, 413, "payload_too_large");
  });

  it("should refuse protected routes without a valid bearer token, per RFC 6750", async () => {
    for (const [method, path] of [
      ["GET", "/v1/me"],
      ["GET", "/v1/sessions"],
      ["DELETE", "/v1/sessions/ses_x"],
      ["POST", "/v1/auth/logout-others"],
      ["POST", "/v1/auth/logout-all"],
      ["POST", "/v1/auth/password"],
      ["POST", "/v1/auth/reauthenticate"],
      ["POST", "/v1/auth/reauthenticate/options"],
      ["GET", "/v1/passkeys"],
      ["POST", "/v1/passkeys"],
      ["POST", "/v1/passkeys/registration/options"],
      ["PATCH", "/v1/passkeys/abc"],
      ["DELETE", "/v1/passkeys/abc"],
    ] as const) {
      for (const authorization of [undefined, "Bearer", "Basic dXNlcjpwYXNz", "Bearer not-a-jwt", `Bearer ${"a".repeat(9000)}`]) {
        const response = await call(path, { method, headers: authorization ? { Authorization: authorization } : {} });
        await expectProblem(response, 401, "invalid_token");
        expect(response.headers.get("WWW-Authenticate")).toBe('Bearer error="invalid_token"');
      }
    }
  });
});
