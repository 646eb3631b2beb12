import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { call } from "./http";

export const TEST_CLIENT = env.TEST_INTROSPECTION_CLIENT;

export type OAuthPath = "/v1/oauth/introspect" | "/v1/oauth/revoke" | "/v1/oauth/token";

export function basic(clientId: string, secret: string): string {
  const encode = (text: string) => encodeURIComponent(text);
  return `Basic ${btoa(`${encode(clientId)}:${encode(secret)}`)}`;
}

/** client_secret_post: the credentials as form fields (RFC 6749 §2.3.1). */
export function postCredentials(clientId = TEST_CLIENT.id, secret = TEST_CLIENT.secret): Record<string, string> {
  return { client_id: clientId, client_secret: secret };
}

/**
 * A form-encoded POST to an OAuth endpoint, authenticated with Basic as the test client unless told
 * otherwise (`null`: no Authorization header). `ip` sets CF-Connecting-IP; each call gets a fresh one otherwise.
 */
export function oauthPost(
  path: OAuthPath,
  form: Record<string, string>,
  authorization: string | null = basic(TEST_CLIENT.id, TEST_CLIENT.secret),
  ip?: string,
) {
  const headers: Record<string, string> = { "Content-Type": "application/x-www-form-urlencoded" };
  if (authorization !== null) headers.Authorization = authorization;
  if (ip !== undefined) headers["CF-Connecting-IP"] = ip;
  return call(path, { method: "POST", headers, body: new URLSearchParams(form).toString() });
}

/**
 * An error as OAuth clients read it (RFC 6749 §5.2): `application/json` with `error` and a
 * description, never problem+json. Answers the body, whose `code` is the service's own.
 */
export async function expectOAuthError(response: Response, status: number, error: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  const body = (await response.json()) as { error: string; error_description?: string; code?: string };
  expect(body.error).toBe(error);
  expect(typeof body.error_description).toBe("string");
  return body;
}
