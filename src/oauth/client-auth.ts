import { digestsEqual, sha256 } from "../encoding";
import { ApiError } from "../errors";

const MAX_AUTHORIZATION_HEADER = 1024;
const CLIENT_ID = /^[A-Za-z0-9._~-]{1,64}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** RFC 6749 §5.2: a failed client authentication over Basic answers 401 with a Basic challenge. */
function invalidClient(): ApiError {
  return new ApiError("invalid_client", undefined, { "WWW-Authenticate": 'Basic realm="edge-sessions", charset="UTF-8"' }, { error: "invalid_client" });
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
    if (!CLIENT_ID.test(clientId) || typeof digest !== "string" || !SHA256_HEX.test(digest)) throw misconfigured("every entry must map a client_id to a SHA-256 hex digest");
    clients.set(clientId, Uint8Array.from(digest.match(/../g)!, (pair) => parseInt(pair, 16)));
  }
  clientsCache.set(secret, clients);
  return clients;
}

function misconfigured(why: string): ApiError {
  console.error(JSON.stringify({ level: "error", msg: "invalid INTROSPECTION_CLIENTS", why }));
  return new ApiError("service_unavailable", "The service is misconfigured");
}

/**
 * Client authentication for the OAuth endpoints: HTTP Basic with `client_id:client_secret`, each
 * form-urlencoded first (RFC 6749 §2.3.1). The secret is hashed and the fixed-length digests are
 * compared in constant time. Returns the authenticated client_id.
 */
export async function authenticateClient(env: Env, authorization: string | undefined): Promise<string> {
  const clients = clientsFrom(env.INTROSPECTION_CLIENTS);
  const credentials = basicCredentials(authorization);
  if (!credentials) throw invalidClient();
  const expected = clients.get(credentials.clientId) ?? UNKNOWN_CLIENT_DIGEST;
  const matches = digestsEqual(await sha256(credentials.secret), expected);
  if (!matches || !clients.has(credentials.clientId)) throw invalidClient();
  return credentials.clientId;
}

function basicCredentials(authorization: string | undefined): { clientId: string; secret: string } | null {
  if (!authorization || authorization.length > MAX_AUTHORIZATION_HEADER) return null;
  const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(authorization);
  if (!match) return null;
  try {
    const decoded = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(atob(match[1]!), (ch) => ch.charCodeAt(0)));
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
