import { SESSION_ID, USER_ID } from "../../contract/ids";
import { base64url, digestsEqual, fromBase64url } from "../../shared/encoding";
import { refreshKeys } from "../../shared/refresh-token";

/**
 * The DBSC session identifier this service gives a browser: `<userId>.<sessionId>.<tag>`. The
 * refresh endpoint has nothing else to go on (the bound cookie may be gone), so the identifier
 * carries its routing, like a refresh token: the user id picks the user's registry with no database
 * lookup, and the tag (an HMAC under the refresh-token tag key, domain-separated) is checked before
 * anything is routed by it, so a forged identifier never reaches, or creates, a Durable Object.
 * Not a secret: ids are not credentials, and the browser sends it in the clear.
 */

const DOMAIN = "dbsc-session-identifier/v1:";
const unanchored = (pattern: RegExp) => pattern.source.replace(/^\^|\$$/g, "");
const SHAPE = new RegExp(`^(${unanchored(USER_ID)})\\.(${unanchored(SESSION_ID)})\\.([A-Za-z0-9_-]{43})$`);

async function tagOf(secret: string | undefined, userId: string, sessionId: string): Promise<Uint8Array<ArrayBuffer>> {
  const keys = await refreshKeys(secret);
  const text = new TextEncoder().encode(`${DOMAIN}${userId}.${sessionId}`);
  return new Uint8Array(await crypto.subtle.sign("HMAC", keys.tag, text));
}

export async function dbscIdentifier(env: Env, userId: string, sessionId: string): Promise<string> {
  return `${userId}.${sessionId}.${base64url(await tagOf(env.REFRESH_TOKEN_SECRET, userId, sessionId))}`;
}

/** The session an identifier names, when this service issued it; null otherwise. */
export async function parseDbscIdentifier(env: Env, identifier: string): Promise<{ userId: string; sessionId: string } | null> {
  const match = SHAPE.exec(identifier);
  if (!match) return null;
  const [, userId, sessionId, tag] = match as unknown as [string, string, string, string];
  const presented = fromBase64url(tag);
  if (!presented) return null;
  return digestsEqual(presented, await tagOf(env.REFRESH_TOKEN_SECRET, userId, sessionId)) ? { userId, sessionId } : null;
}
