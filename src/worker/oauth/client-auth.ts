import type { Context } from "hono";
import { ConfigurationError } from "../../shared/config";
import { digestsEqual, sha256 } from "../../shared/encoding";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { judgeClientAuthentication } from "../limits/limits";

const MAX_AUTHORIZATION_HEADER = 1024;
const CLIENT_ID = /^[A-Za-z0-9._~-]{1,64}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * RFC 6749 §5.2: a failed client authentication answers 401 `invalid_client`. The Basic challenge
 * goes on every such 401: RFC 6749 requires it when the client tried Basic, and RFC 9110 §15.5.2
 * requires a challenge on any 401; to a client that sent its credentials in the body it names the
 * other method accepted here.
 */
function invalidClient(): ApiError {
  return new ApiError("invalid_client", { headers: { "WWW-Authenticate": 'Basic realm="edge-sessions", charset="UTF-8"' } });
}

/** RFC 6749 §5.2 `invalid_request`, e.g. a client "utilizes more than one mechanism for authenticating". */
function invalidRequest(detail: string): ApiError {
  return new ApiError("invalid_request", { detail });
}

const clientsCache = new Map<string, Map<string, Uint8Array<ArrayBuffer>>>();
// Compared against when the client_id is unknown, so an unknown id costs the same as a wrong secret.
// A constant (randomness is not allowed at global scope); matching it never authenticates, `clients.has` decides.
const UNKNOWN_CLIENT_DIGEST = new Uint8Array(32);

/** INTROSPECTION_CLIENTS: `{"<client_id>": "<sha256 hex of the secret>"}`. Only digests are ever configured. */
function clientsFrom(secret: string | undefined): Map<string, Uint8Array<ArrayBuffer>> {
  if (!secret) return new Map();
  const cached = clientsCache.get(secret);
  if (cached) return cached;
  let parsed: unknown;
  try {
    parsed = JSON.parse(secret);
  } catch {
    parsed = null;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw misconfigured("not a JSON object");
  const clients = new Map<string, Uint8Array<ArrayBuffer>>();
  for (const [clientId, digest] of Object.entries(parsed)) {
    if (!CLIENT_ID.test(clientId) || typeof digest !== "string" || !SHA256_HEX.test(digest))
      throw misconfigured("every entry must map a client_id to a SHA-256 hex digest");
    clients.set(
      clientId,
      Uint8Array.from(digest.match(/../g)!, (pair) => parseInt(pair, 16)),
    );
  }
  clientsCache.set(secret, clients);
  return clients;
}

function misconfigured(why: string): ConfigurationError {
  return new ConfigurationError("INTROSPECTION_CLIENTS", why);
}

/**
 * Client authentication for the OAuth endpoints (RFC 6749 §2.3.1), by exactly one of:
 * - `client_secret_basic`: HTTP Basic with `client_id:client_secret`, each form-urlencoded first;
 * - `client_secret_post`: `client_id` and `client_secret` fields in the form body (`form`, already read).
 * The secret is hashed and the fixed-length digests are compared in constant time; an unknown
 * client_id is compared against a dummy digest, so it costs what a wrong secret costs.
 *
 * Failed authentications are limited per client address (`judgeClientAuthentication`): the secret
 * is checked, then the address's limiter decides, in one call, whether the outcome may be told; an
 * address that used up its window gets 429 whether its secret was right or not. Requests that
 * present no usable credentials (none, malformed, or both methods at once) are refused before
 * that: they guess nothing, and they are not counted.
 * Returns the authenticated client_id. The secret is never logged.
 */
export async function authenticateClient(c: Context<AppEnv>, form: Readonly<Record<string, string>>): Promise<string> {
  const clients = clientsFrom(c.env.INTROSPECTION_CLIENTS);
  const credentials = presentedCredentials(c.req.header("Authorization"), form);
  if (!credentials) throw invalidClient();
  const expected = clients.get(credentials.clientId) ?? UNKNOWN_CLIENT_DIGEST;
  const matches = digestsEqual(await sha256(credentials.secret), expected);
  const authenticated = matches && clients.has(credentials.clientId);
  await judgeClientAuthentication(c, !authenticated);
  if (!authenticated) throw invalidClient();
  return credentials.clientId;
}

interface Credentials {
  clientId: string;
  secret: string;
}

/**
 * The credentials the request presents, or null when it presents none that could be checked.
 * RFC 6749 §2.3: a client "MUST NOT use more than one authentication method in each request", so
 * an Authorization header (of any scheme) beside a body `client_secret` is 400 `invalid_request`,
 * whichever of them is right. A body `client_id` beside Basic is allowed when it names the same client.
 */
function presentedCredentials(authorization: string | undefined, form: Readonly<Record<string, string>>): Credentials | null {
  const bodyId = form.client_id;
  const bodySecret = form.client_secret;
  if (authorization !== undefined && authorization.trim() !== "") {
    if (bodySecret !== undefined)
      throw invalidRequest("Client credentials were sent both in the Authorization header and in the body; use one method");
    const basic = basicCredentials(authorization);
    if (basic && bodyId !== undefined && bodyId !== basic.clientId)
      throw invalidRequest("The body's client_id is not the client of the Authorization header");
    return basic;
  }
  if (bodyId === undefined || bodySecret === undefined) return null;
  return CLIENT_ID.test(bodyId) && bodySecret.length > 0 ? { clientId: bodyId, secret: bodySecret } : null;
}

function basicCredentials(authorization: string): Credentials | null {
  if (authorization.length > MAX_AUTHORIZATION_HEADER) return null;
  const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(authorization);
  if (!match) return null;
  try {
    // A byte-order mark is kept (`ignoreBOM`), so it is part of the id, and refused with it.
    const decoded = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      Uint8Array.from(atob(match[1]!), (ch) => ch.charCodeAt(0)),
    );
    const colon = decoded.indexOf(":");
    if (colon < 0) return null;
    const formDecode = (text: string) => decodeURIComponent(text.replace(/\+/g, " "));
    const clientId = formDecode(decoded.slice(0, colon));
    const secret = formDecode(decoded.slice(colon + 1));
    return CLIENT_ID.test(clientId) && secret.length > 0 ? { clientId, secret } : null;
  } catch {
    return null;
  }
}
