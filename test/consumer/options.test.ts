import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type RequireSessionOptions, requireSession } from "../../consumer/index";
import { signUp } from "../support/http";
import { consumerApp, TOKENS } from "./support";

const JWKS_URL = "https://auth.example.com/.well-known/jwks.json";

describe("requireSession options", () => {
  // Each mistake is a TypeError at construction naming the option, so a misspelt deployment fails at start-up.
  const invalid: [string, unknown, RegExp][] = [
    ["no options", undefined, /options are required/],
    ["null options", null, /options are required/],
    ["an unknown mode", { ...TOKENS, mode: "lenient", binding: "SESSIONS" }, /mode must be one of strict, cached, stateless/],
    ["a missing issuer", { audience: TOKENS.audience, mode: "strict", binding: "SESSIONS" }, /issuer is required/],
    ["an empty issuer", { ...TOKENS, issuer: "", mode: "strict", binding: "SESSIONS" }, /issuer is required/],
    ["a missing audience", { issuer: TOKENS.issuer, mode: "strict", binding: "SESSIONS" }, /audience is required/],
    ["an empty audience", { ...TOKENS, audience: "", mode: "strict", binding: "SESSIONS" }, /audience is required/],
    ["an empty binding name", { ...TOKENS, mode: "strict", binding: "" }, /binding must be a binding name or a function/],
    ["a binding that is a number", { ...TOKENS, mode: "strict", binding: 7 }, /binding must be a binding name or a function/],
    ["strict without a binding", { ...TOKENS, mode: "strict" }, /mode "strict" needs a binding/],
    ["strict with only a jwksUrl", { ...TOKENS, mode: "strict", jwksUrl: JWKS_URL }, /mode "strict" needs a binding/],
    ["cached without a binding", { ...TOKENS, mode: "cached", jwksUrl: JWKS_URL }, /mode "cached" needs a binding/],
    ["stateless with neither binding nor jwksUrl", { ...TOKENS, mode: "stateless" }, /mode "stateless" needs a binding or a jwksUrl/],
    [
      "a plain-http jwksUrl",
      { ...TOKENS, mode: "stateless", jwksUrl: "http://auth.example.com/.well-known/jwks.json" },
      /jwksUrl must be an https URL/,
    ],
    ["a jwksUrl that is no URL", { ...TOKENS, mode: "stateless", jwksUrl: "jwks.json" }, /jwksUrl must be an https URL/],
    // Loopback means exactly these hostnames: a look-alike name or a LAN address travels a network.
    [
      "http on a name that starts with localhost",
      { ...TOKENS, mode: "stateless", jwksUrl: "http://localhost.example.com/jwks" },
      /jwksUrl must be an https URL/,
    ],
    [
      "http on a private address",
      { ...TOKENS, mode: "stateless", jwksUrl: "http://10.0.0.1:8787/.well-known/jwks.json" },
      /jwksUrl must be an https URL/,
    ],
    [
      "http on 0.0.0.0",
      { ...TOKENS, mode: "stateless", jwksUrl: "http://0.0.0.0:8787/.well-known/jwks.json" },
      /jwksUrl must be an https URL/,
    ],
    ["a jwksUrl of another scheme", { ...TOKENS, mode: "stateless", jwksUrl: "file:///etc/jwks.json" }, /jwksUrl must be an https URL/],
    [
      "a jwksUrl of another scheme on loopback",
      { ...TOKENS, mode: "stateless", jwksUrl: "ws://localhost:8787/jwks" },
      /jwksUrl must be an https URL/,
    ],
    ["a jwksUrl that is no string", { ...TOKENS, mode: "stateless", jwksUrl: 8787 }, /jwksUrl must be an https URL/],
    [
      "a negative cacheTtlMs",
      { ...TOKENS, mode: "cached", binding: "SESSIONS", cacheTtlMs: -1 },
      /cacheTtlMs must be an integer from 0 to 300000/,
    ],
    ["a fractional cacheTtlMs", { ...TOKENS, mode: "cached", binding: "SESSIONS", cacheTtlMs: 1.5 }, /cacheTtlMs must be an integer/],
    [
      "a cacheTtlMs over 5 minutes",
      { ...TOKENS, mode: "cached", binding: "SESSIONS", cacheTtlMs: 300_001 },
      /cacheTtlMs must be an integer/,
    ],
    [
      "cacheTtlMs outside cached mode",
      { ...TOKENS, mode: "strict", binding: "SESSIONS", cacheTtlMs: 1000 },
      /cacheTtlMs applies to mode "cached" only/,
    ],
    [
      "a zero maxTokenLifetimeSeconds",
      { ...TOKENS, mode: "strict", binding: "SESSIONS", maxTokenLifetimeSeconds: 0 },
      /maxTokenLifetimeSeconds must be a positive integer/,
    ],
    [
      "a fractional maxTokenLifetimeSeconds",
      { ...TOKENS, mode: "strict", binding: "SESSIONS", maxTokenLifetimeSeconds: 1.5 },
      /maxTokenLifetimeSeconds must be/,
    ],
    ["a clock that is not a function", { ...TOKENS, mode: "strict", binding: "SESSIONS", now: 1 }, /now must be a function/],
  ];

  it.each(invalid)("should throw a TypeError naming the option at construction for %s", (_, options, message) => {
    expect(() => requireSession(options as RequireSessionOptions)).toThrow(TypeError);
    expect(() => requireSession(options as RequireSessionOptions)).toThrow(new RegExp(`^requireSession: ${message.source}`));
  });

  it("should accept each documented mode, and the edges of each range", () => {
    const valid: RequireSessionOptions[] = [
      { ...TOKENS, mode: "strict", binding: "SESSIONS" },
      { ...TOKENS, mode: "strict", binding: () => env.SESSION_SERVICE, maxTokenLifetimeSeconds: 1 },
      { ...TOKENS, mode: "cached", binding: "SESSIONS", cacheTtlMs: 0 },
      { ...TOKENS, mode: "cached", binding: "SESSIONS", cacheTtlMs: 300_000, jwksUrl: JWKS_URL },
      { ...TOKENS, mode: "stateless", jwksUrl: JWKS_URL },
      { ...TOKENS, mode: "stateless", binding: "SESSIONS", now: () => 0 },
    ];
    for (const options of valid) expect(() => requireSession(options)).not.toThrow();
  });
});

describe("requireSession binding by name", () => {
  /** The binding is looked up in `c.env` on each request; a wrong one is the deployment's error, thrown. */
  function app() {
    const errors: string[] = [];
    const hono = new Hono();
    hono.get("/", requireSession({ ...TOKENS, mode: "strict", binding: "SESSIONS" }), (c) => c.text("ok"));
    hono.onError((error, c) => {
      errors.push(error.message);
      return c.text("misconfigured", 500);
    });
    return { hono, errors };
  }

  it("should find the service binding in c.env by its name", async () => {
    const device = await signUp();
    const { hono } = app();
    const response = await hono.request(
      "/",
      { headers: { Authorization: `Bearer ${device.accessToken}` } },
      { SESSIONS: env.SESSION_SERVICE },
    );
    expect(response.status).toBe(200);
  });

  it.each([
    ["missing from c.env", {}],
    ["not a SessionService binding", { SESSIONS: { fetch: () => new Response() } }],
    ["an env that is not there at all", undefined],
  ])("should throw, naming the binding, when it is %s", async (_, bindings) => {
    const device = await signUp();
    const { hono, errors } = app();
    const response = await hono.request("/", { headers: { Authorization: `Bearer ${device.accessToken}` } }, bindings);
    expect(response.status).toBe(500);
    expect(errors).toEqual(["requireSession: c.env.SESSIONS is not a service binding to SessionService"]);
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
