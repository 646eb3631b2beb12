import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { app } from "../../src/worker/app";
import { expectProblem, ORIGIN, signUp } from "../support/http";
import { expectOAuthError } from "../support/oauth";
import { document, held } from "../support/openapi";

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * A namespace that records every use: a misconfigured request must be refused before any Durable
 * Object is addressed (no registry woken, no limiter counted).
 */
function watchedNamespace(namespace: DurableObjectNamespace, touched: string[], name: string): DurableObjectNamespace {
  return new Proxy(namespace, {
    get(target, property, receiver) {
      touched.push(`${name}.${String(property)}`);
      return Reflect.get(target, property, receiver);
    },
  });
}

async function fetchWith(settings: Partial<Record<keyof Env, unknown>>, path: string, init: RequestInit = {}) {
  const touched: string[] = [];
  const errors: string[] = [];
  vi.spyOn(console, "error").mockImplementation((line: unknown) => void errors.push(String(line)));
  const patched = {
    ...env,
    SESSION_REGISTRY: watchedNamespace(env.SESSION_REGISTRY, touched, "SESSION_REGISTRY"),
    RATE_LIMITER: watchedNamespace(env.RATE_LIMITER, touched, "RATE_LIMITER"),
    ...settings,
  } as Env;
  const headers = new Headers(init.headers);
  headers.set("CF-Connecting-IP", "203.0.113.9");
  const request = new Request(`${ORIGIN}${path}`, { ...init, headers });
  const response = await held(request, await app.fetch(request, patched, createExecutionContext()));
  vi.restoreAllMocks();
  return { response, touched, errors };
}

const signupRequest = {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ email: "settings@example.com", password: "correct horse battery staple", token_transport: "body" }),
};

/** An introspection by Basic as `resource-server` (a wrong secret: whether it is judged is the question). */
const introspectRequest = {
  method: "POST",
  headers: { "Content-Type": "application/x-www-form-urlencoded", Authorization: `Basic ${btoa("resource-server:secret")}` },
  body: "token=x",
};

const CASES: { setting: keyof Env; value: unknown; secret?: string }[] = [
  { setting: "JWT_SIGNING_KEYS", value: undefined },
  { setting: "JWT_SIGNING_KEYS", value: "{not json", secret: "{not json" },
  {
    setting: "JWT_SIGNING_KEYS",
    value: JSON.stringify({ keys: [{ kty: "OKP", crv: "Ed25519", x: "bm90LWEta2V5", d: "c2VjcmV0LXBhcnQ", kid: "k1" }] }),
    secret: "c2VjcmV0LXBhcnQ",
  },
  { setting: "REFRESH_TOKEN_SECRET", value: undefined },
  { setting: "REFRESH_TOKEN_SECRET", value: "dG9vLXNob3J0", secret: "dG9vLXNob3J0" },
  { setting: "ACCESS_TOKEN_TTL_SECONDS", value: "not-a-number", secret: "not-a-number" },
  { setting: "SESSION_LIMIT_POLICY", value: "evict_everyone", secret: "evict_everyone" },
  // The relying party: a wrong one would refuse every passkey, or accept another site's ceremonies.
  { setting: "WEBAUTHN_RP_ID", value: "https://auth.test", secret: "https://auth.test" },
  { setting: "WEBAUTHN_RP_ID", value: "203.0.113.7", secret: "203.0.113.7" },
  { setting: "WEBAUTHN_ORIGINS", value: "https://evil.test", secret: "evil.test" },
  { setting: "WEBAUTHN_ORIGINS", value: "http://auth.test", secret: "http://auth.test" },
  { setting: "WEBAUTHN_RP_NAME", value: "", secret: undefined },
  { setting: "STEP_UP_MAX_AGE_SECONDS", value: "5", secret: undefined },
  // NIST SP 800-63B-4 §3.1.1.2: never below 8; above 64 would refuse passphrases the rule must allow.
  { setting: "PASSWORD_MIN_LENGTH", value: "7", secret: undefined },
  { setting: "PASSWORD_MIN_LENGTH", value: "65", secret: undefined },
  { setting: "STRICT_TRANSPORT_SECURITY", value: "of", secret: undefined },
];

describe("misconfiguration", () => {
  for (const { setting, value, secret } of CASES) {
    it(`should answer 503 service_unavailable before any Durable Object call when ${setting} is ${value === undefined ? "missing" : "malformed"}`, async () => {
      for (const [path, init] of [
        ["/v1/auth/signup", signupRequest],
        [
          "/v1/auth/refresh",
          { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refresh_token: "x" }) },
        ],
        ["/v1/sessions", { headers: { Authorization: "Bearer a.b.c" } }],
      ] as const) {
        const { response, touched, errors } = await fetchWith({ [setting]: value }, path, init);
        await expectProblem(response, 503, "service_unavailable");
        expect(touched, path).toEqual([]);
        const lines = errors.map((line) => JSON.parse(line) as { msg: string; setting?: string });
        expect(lines.filter((line) => line.msg === "invalid configuration")).toEqual([expect.objectContaining({ setting })]);
        if (secret !== undefined) expect(errors.join("\n")).not.toContain(secret);
      }
    });
  }

  it("should answer 503 service_unavailable on every documented API operation while a setting is invalid", async () => {
    const operations = Object.entries(document.paths).flatMap(([template, item]) =>
      template.startsWith("/v1/") || template.startsWith("/.well-known/")
        ? Object.keys(item).map((method) => [method, template] as const)
        : [],
    );
    expect(operations.length).toBeGreaterThan(20);
    for (const [method, template] of operations) {
      // A placeholder for each path parameter: the setting is checked before any route looks at it.
      const path = template.replace(/\{[^}]+\}/g, "x");
      const { response, touched } = await fetchWith({ JWT_SIGNING_KEYS: undefined }, path, { method: method.toUpperCase() });
      if (template.startsWith("/v1/oauth/")) await expectOAuthError(response, 503, "temporarily_unavailable");
      else await expectProblem(response, 503, "service_unavailable");
      expect(touched, `${method} ${template}`).toEqual([]);
    }
  });

  it("should answer 503 on the OAuth endpoints, before any client is judged, when INTROSPECTION_CLIENTS is malformed", async () => {
    const value = '{"resource-server": "not-a-digest"}';
    const { response, touched, errors } = await fetchWith({ INTROSPECTION_CLIENTS: value }, "/v1/oauth/introspect", introspectRequest);
    await expectOAuthError(response, 503, "temporarily_unavailable");
    expect(touched).toEqual([]);
    expect(errors.map((line) => JSON.parse(line).setting)).toEqual(["INTROSPECTION_CLIENTS"]);
    expect(errors.join("\n")).not.toContain("not-a-digest");
  });

  const DIGEST = "a".repeat(64);
  const NOT_OBJECT = "not a JSON object";
  const BAD_ENTRY = "every entry must map a client_id to a SHA-256 hex digest";
  const MALFORMED_CLIENTS: [string, string, string][] = [
    ["not JSON", "{resource-server", NOT_OBJECT],
    ["null", "null", NOT_OBJECT],
    ["an array", JSON.stringify([["resource-server", DIGEST]]), NOT_OBJECT],
    ["a string", JSON.stringify(DIGEST), NOT_OBJECT],
    ["a client_id outside its alphabet", JSON.stringify({ "resource server": DIGEST }), BAD_ENTRY],
    ["a client_id over 64 characters", JSON.stringify({ ["r".repeat(65)]: DIGEST }), BAD_ENTRY],
    ["a digest that is not a string", JSON.stringify({ "resource-server": 7 }), BAD_ENTRY],
    ["an upper-case digest", JSON.stringify({ "resource-server": "A".repeat(64) }), BAD_ENTRY],
    ["a digest one character short", JSON.stringify({ "resource-server": "a".repeat(63) }), BAD_ENTRY],
    ["a digest one character long", JSON.stringify({ "resource-server": "a".repeat(65) }), BAD_ENTRY],
    ["a digest in an array", JSON.stringify({ "resource-server": [DIGEST] }), BAD_ENTRY],
    ["one good entry and one bad", JSON.stringify({ "resource-server": DIGEST, other: "b".repeat(63) }), BAD_ENTRY],
  ];
  it.each(MALFORMED_CLIENTS)("should refuse INTROSPECTION_CLIENTS that is %s with 503, saying why in the log", async (_, value, why) => {
    const { response, touched, errors } = await fetchWith({ INTROSPECTION_CLIENTS: value }, "/v1/oauth/introspect", introspectRequest);
    await expectOAuthError(response, 503, "temporarily_unavailable");
    expect(touched).toEqual([]);
    expect(errors.map((line) => JSON.parse(line))).toEqual([expect.objectContaining({ setting: "INTROSPECTION_CLIENTS", why })]);
  });

  it.each([
    ["unset", undefined],
    ["empty", ""],
    ["an empty object", "{}"],
  ])("should treat INTROSPECTION_CLIENTS %s as no clients: 401 invalid_client, nothing logged as misconfigured", async (_, value) => {
    // The limiter is reached here (a wrong secret is counted): the real one, not the watched proxy.
    const { response, errors } = await fetchWith(
      { INTROSPECTION_CLIENTS: value, RATE_LIMITER: env.RATE_LIMITER },
      "/v1/oauth/introspect",
      introspectRequest,
    );
    await expectOAuthError(response, 401, "invalid_client");
    expect(errors).toEqual([]);
  });

  it("should answer 503 on the admin API when ADMIN_TOKEN is set but too short to be safe", async () => {
    const { response, errors } = await fetchWith({ ADMIN_TOKEN: "short-admin-token" }, "/v1/admin/stats", {
      headers: { Authorization: "Bearer short-admin-token" },
    });
    await expectProblem(response, 503, "service_unavailable");
    expect(errors.map((line) => JSON.parse(line).setting)).toEqual(["ADMIN_TOKEN"]);
    expect(errors.join("\n")).not.toContain("short-admin-token");
  });

  it("should tell other services over RPC, as a value, when a setting is missing", async () => {
    const user = await signUp();
    const { SessionService } = await import("../../src/worker/rpc/session-service");
    const service = new SessionService(createExecutionContext(), { ...env, JWT_SIGNING_KEYS: undefined } as unknown as Env);
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect(await service.verify(user.accessToken)).toEqual({ ok: false, code: "service_unavailable" });
    expect(await service.listSessions(user.userId)).toEqual({ ok: false, code: "service_unavailable" });
  });
});
