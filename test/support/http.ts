import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { held } from "./openapi";

export const ORIGIN = "https://auth.test";

export const USER_AGENTS = {
  laptop: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  phone:
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  tablet: "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
} as const;
export type Device = keyof typeof USER_AGENTS;

/**
 * A client address of its own for each request unless a test sets one: the per-IP limits are
 * real in every test, so tests that are not about them must not share one address.
 */
export function freshIp(): string {
  const group = () => Math.floor(Math.random() * 0x10000).toString(16);
  return `2001:db8:${group()}:${group()}::1`;
}

export function call(
  path: string,
  init: RequestInit & { json?: unknown; token?: string; cookie?: string; cf?: Record<string, unknown> } = {},
) {
  const headers = new Headers(init.headers);
  if (!headers.has("CF-Connecting-IP")) headers.set("CF-Connecting-IP", freshIp());
  if (init.json !== undefined) headers.set("Content-Type", "application/json");
  if (init.token !== undefined) headers.set("Authorization", `Bearer ${init.token}`);
  if (init.cookie !== undefined) headers.set("Cookie", init.cookie);
  const body = init.json !== undefined ? JSON.stringify(init.json) : init.body;
  const request = new Request(`${ORIGIN}${path}`, { ...init, headers, body, ...(init.cf ? { cf: init.cf } : {}) });
  // Every response is held to docs/openapi.json (test/support/openapi.ts).
  return exports.default.fetch(request).then((response) => held(request, response));
}

let counter = 0;
export function uniqueEmail(label = "user") {
  return `${label}-${Date.now().toString(36)}-${(counter++).toString(36)}@example.com`;
}

export const PASSWORD = "correct horse battery staple";

/** One signed-in device: its tokens as a client holds them. */
export interface SignedIn {
  userId: string;
  sessionId: string;
  accessToken: string;
  refreshToken: string;
  email: string;
  /** The client address the device signed in from, where the test chose one. */
  ip?: string;
}

/** Cookie value of the refresh cookie in a response, if one was set (and not cleared). */
export function refreshCookieOf(response: Response): { value: string; attributes: string } | null {
  for (const line of response.headers.getSetCookie()) {
    const match = /^__Host-refresh_token=([^;]*)(.*)$/.exec(line);
    if (match) return { value: decodeURIComponent(match[1]!), attributes: match[2]! };
  }
  return null;
}

export async function signUp(device: Device = "laptop", email = uniqueEmail(), password = PASSWORD): Promise<SignedIn> {
  const ip = freshIp();
  const response = await call("/v1/auth/signup", {
    method: "POST",
    json: { email, password, token_transport: "body" },
    headers: { "User-Agent": USER_AGENTS[device], "CF-Connecting-IP": ip },
  });
  expect(response.status).toBe(201);
  return signedIn(await response.json(), email, ip);
}

export async function signIn(email: string, device: Device = "laptop", password = PASSWORD): Promise<SignedIn> {
  const ip = freshIp();
  const response = await call("/v1/auth/login", {
    method: "POST",
    json: { email, password, token_transport: "body" },
    headers: { "User-Agent": USER_AGENTS[device], "CF-Connecting-IP": ip },
  });
  expect(response.status).toBe(200);
  return signedIn(await response.json(), email, ip);
}

function signedIn(body: any, email: string, ip: string): SignedIn {
  return { userId: body.user.id, sessionId: body.session.id, accessToken: body.access_token, refreshToken: body.refresh_token, email, ip };
}

/** Signs one user in on several devices: the first signs up, the rest log in. */
export async function signInOn(...devices: Device[]): Promise<SignedIn[]> {
  const [first, ...rest] = devices;
  const a = await signUp(first);
  const others = [];
  for (const device of rest) others.push(await signIn(a.email, device));
  return [a, ...others];
}

export function refresh(refreshToken: string) {
  return call("/v1/auth/refresh", { method: "POST", json: { refresh_token: refreshToken } });
}

export function me(accessToken: string) {
  return call("/v1/me", { token: accessToken });
}

export async function expectProblem(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("Content-Type")).toMatch(/^application\/problem\+json/);
  const body = (await response.json()) as { code: string; status: number; title: string; type: string };
  expect(body.code).toBe(code);
  expect(body.status).toBe(status);
  expect(typeof body.title).toBe("string");
  expect(typeof body.type).toBe("string");
  return body;
}
