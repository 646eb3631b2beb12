import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type RequireSessionOptions, requireSession } from "../../consumer/index";
import { signUp } from "../support/http";
import { consumerApp, TOKENS } from "./support";

describe("requireSession options", () => {
  const invalid: [string, unknown][] = [
    ["an unknown mode", { ...TOKENS, mode: "lenient", binding: "SESSIONS" }],
    ["strict without a binding", { ...TOKENS, mode: "strict" }],
    ["cached without a binding", { ...TOKENS, mode: "cached", jwksUrl: "https://auth.example.com/.well-known/jwks.json" }],
    ["stateless with neither binding nor jwksUrl", { ...TOKENS, mode: "stateless" }],
    ["a plain-http jwksUrl", { ...TOKENS, mode: "stateless", jwksUrl: "http://auth.example.com/.well-known/jwks.json" }],
    // Loopback means exactly these hostnames: a look-alike name or a LAN address travels a network.
    ["http on a name that starts with localhost", { ...TOKENS, mode: "stateless", jwksUrl: "http://localhost.example.com/jwks" }],
    ["http on a private address", { ...TOKENS, mode: "stateless", jwksUrl: "http://10.0.0.1:8787/.well-known/jwks.json" }],
    ["http on 0.0.0.0", { ...TOKENS, mode: "stateless", jwksUrl: "http://0.0.0.0:8787/.well-known/jwks.json" }],
    ["a jwksUrl of another scheme", { ...TOKENS, mode: "stateless", jwksUrl: "file:///etc/jwks.json" }],
    ["a missing issuer", { audience: TOKENS.audience, mode: "strict", binding: "SESSIONS" }],
    ["a negative cacheTtlMs", { ...TOKENS, mode: "cached", binding: "SESSIONS", cacheTtlMs: -1 }],
    ["a cacheTtlMs over 5 minutes", { ...TOKENS, mode: "cached", binding: "SESSIONS", cacheTtlMs: 300_001 }],
    ["cacheTtlMs outside cached mode", { ...TOKENS, mode: "strict", binding: "SESSIONS", cacheTtlMs: 1000 }],
  ];

  it.each(invalid)("should throw at construction for %s", (_, options) => {
    expect(() => requireSession(options as RequireSessionOptions)).toThrow(TypeError);
  });

  it("should accept each documented mode", () => {
    expect(() => requireSession({ ...TOKENS, mode: "strict", binding: "SESSIONS" })).not.toThrow();
    expect(() => requireSession({ ...TOKENS, mode: "cached", binding: "SESSIONS", cacheTtlMs: 5_000 })).not.toThrow();
    expect(() => requireSession({ ...TOKENS, mode: "stateless", jwksUrl: "https://auth.example.com/.well-known/jwks.json" })).not.toThrow();
  });

  it.each(["http://localhost:8787", "http://127.0.0.1:8787", "http://[::1]:8787"])(
    "should accept a plain-http jwksUrl on loopback, %s, for a service under wrangler dev",
    (origin) => {
      expect(() => requireSession({ ...TOKENS, mode: "stateless", jwksUrl: `${origin}/.well-known/jwks.json` })).not.toThrow();
    },
  );
});

describe("requireSession stateless mode with a local jwksUrl", () => {
  afterEach(() => vi.restoreAllMocks());

  it("should read the JWKS from http://localhost and accept the service's tokens with it", async () => {
    // The service as `wrangler dev` would serve it on :8787: its real JWKS, behind the global fetch.
    const fetched: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      fetched.push(String(input instanceof Request ? input.url : input));
      return env.SESSION_SERVICE.fetch("https://edge-sessions.internal/.well-known/jwks.json");
    });
    const request = consumerApp({ mode: "stateless", jwksUrl: "http://localhost:8787/.well-known/jwks.json" });
    const device = await signUp();
    const response = await request(device.accessToken);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ userId: device.userId, liveness: "unchecked" });
    expect(fetched).toEqual(["http://localhost:8787/.well-known/jwks.json"]);
  });
});
