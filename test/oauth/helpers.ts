import { env } from "cloudflare:workers";
import { call } from "../helpers";

export const TEST_CLIENT = env.TEST_INTROSPECTION_CLIENT;

export function basic(clientId: string, secret: string): string {
  const encode = (text: string) => encodeURIComponent(text);
  return `Basic ${btoa(`${encode(clientId)}:${encode(secret)}`)}`;
}

/** A form-encoded POST to an OAuth endpoint, authenticated as the test client unless told otherwise. */
export function oauthPost(path: "/v1/oauth/introspect" | "/v1/oauth/revoke", form: Record<string, string>, authorization: string | null = basic(TEST_CLIENT.id, TEST_CLIENT.secret)) {
  const headers: Record<string, string> = { "Content-Type": "application/x-www-form-urlencoded" };
  if (authorization !== null) headers.Authorization = authorization;
  return call(path, { method: "POST", headers, body: new URLSearchParams(form).toString() });
}
