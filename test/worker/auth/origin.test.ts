import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../../src/worker/app";
import { freshIp, me, ORIGIN, PASSWORD, type SignedIn, signUp, uniqueEmail } from "../../support/http";

/** An origin the deployment trusts besides its own (ALLOWED_ORIGINS), to prove that list is matched exactly too. */
const APP_ORIGIN = "https://app.example";
// One env object: the Worker parses its settings once per env.
const trusting = { ...env, ALLOWED_ORIGINS: APP_ORIGIN } as Env;

async function send(path: string, origin: string, init: { cookie?: string; json?: unknown } = {}): Promise<Response> {
  const headers = new Headers({ "CF-Connecting-IP": freshIp(), Origin: origin });
  if (init.cookie !== undefined) headers.set("Cookie", `__Host-refresh_token=${init.cookie}`);
  if (init.json !== undefined) headers.set("Content-Type", "application/json");
  const body = init.json === undefined ? null : JSON.stringify(init.json);
  return app.fetch(new Request(`${ORIGIN}${path}`, { method: "POST", headers, body }), trusting, createExecutionContext());
}

/** Every cookie-authenticated POST (and the sign-ins that would set the cookie), from `origin`. */
function cookiePosts(device: SignedIn, origin: string): [string, () => Promise<Response>][] {
  return [
    ["cookie refresh", () => send("/v1/auth/refresh", origin, { cookie: device.refreshToken })],
    ["cookie logout", () => send("/v1/auth/logout", origin, { cookie: device.refreshToken })],
    [
      "cookie login",
      () => send("/v1/auth/login", origin, { json: { email: device.email, password: PASSWORD, token_transport: "cookie" } }),
    ],
    [
      "cookie signup",
      () => send("/v1/auth/signup", origin, { json: { email: uniqueEmail("origin"), password: PASSWORD, token_transport: "cookie" } }),
    ],
  ];
}

/** Origins that begin with a trusted one and name another host, port or user (RFC 6454: compared whole). */
const lookalikes = (origin: string) => [`${origin}.evil.example`, `${origin}:444`, `${origin}@evil.example`];

describe("the Origin check of cookie-authenticated requests (CSRF)", () => {
  it.each([
    ["the service's own origin", ORIGIN],
    ["an ALLOWED_ORIGINS entry", APP_ORIGIN],
  ])("should refuse every origin that only begins with %s with 403 csrf_rejected, and change nothing", async (_, trusted) => {
    const device = await signUp();
    const refused: string[] = [];
    for (const origin of lookalikes(trusted)) {
      for (const [name, post] of cookiePosts(device, origin)) {
        const response = await post();
        if (response.status !== 403 || ((await response.json()) as { code?: string }).code !== "csrf_rejected")
          refused.push(`${name} from ${origin}: ${response.status}`);
      }
    }
    expect(refused).toEqual([]);
    // Nothing was rotated, ended or started: the session and its refresh token are as they were.
    expect((await me(device.accessToken)).status).toBe(200);
    expect((await send("/v1/auth/refresh", trusted, { json: { refresh_token: device.refreshToken } })).status).toBe(200);
  });

  it.each([
    ["the service's own origin", ORIGIN],
    ["an ALLOWED_ORIGINS entry", APP_ORIGIN],
  ])("should accept %s exactly, on every cookie-authenticated POST", async (_, trusted) => {
    const device = await signUp();
    const outcomes = [];
    for (const [name, post] of cookiePosts(device, trusted)) outcomes.push(`${name}: ${(await post()).status}`);
    expect(outcomes).toEqual(["cookie refresh: 200", "cookie logout: 204", "cookie login: 200", "cookie signup: 201"]);
  });
});
