import { importJWK, type JWK } from "jose";
import { ConfigurationError } from "../../shared/config";

/** The only JWS algorithm this service signs or accepts (RFC 8725 §3.1: pin the algorithm). */
export const ACCESS_TOKEN_ALGORITHM = "EdDSA";

export interface KeySet {
  /** The key new tokens are signed with: the last key in the set that has a private part. */
  signing: { kid: string; key: CryptoKey };
  /** Every public key that may have signed a live token, by `kid`. */
  verifying: ReadonlyMap<string, CryptoKey>;
  /** What `/.well-known/jwks.json` publishes. */
  jwks: { keys: PublicJwk[] };
}

/** A published key: public members only. */
export interface PublicJwk {
  kty: "OKP";
  crv: "Ed25519";
  x: string;
  kid: string;
  alg: typeof ACCESS_TOKEN_ALGORITHM;
  use: "sig";
}

const cache = new Map<string, Promise<KeySet>>();

/**
 * Parses `JWT_SIGNING_KEYS`: a JWK Set (or an array of JWKs) of Ed25519 keys, each with a `kid`.
 * Keys without `d` are retired keys kept only so tokens they signed still verify.
 */
export function loadKeySet(secret: string | undefined): Promise<KeySet> {
  if (!secret) return Promise.reject(new ConfigurationError("JWT_SIGNING_KEYS", "is not set"));
  let pending = cache.get(secret);
  if (!pending) {
    pending = parseKeySet(secret);
    pending.catch(() => cache.delete(secret));
    cache.set(secret, pending);
  }
  return pending;
}

async function parseKeySet(secret: string): Promise<KeySet> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secret);
  } catch {
    throw misconfigured("is not JSON");
  }
  const list = Array.isArray(parsed) ? parsed : isRecord(parsed) && Array.isArray(parsed.keys) ? parsed.keys : [parsed];
  const verifying = new Map<string, CryptoKey>();
  const published: PublicJwk[] = [];
  let signing: KeySet["signing"] | undefined;
  for (const candidate of list) {
    if (!isRecord(candidate) || candidate.kty !== "OKP" || candidate.crv !== "Ed25519" || typeof candidate.x !== "string")
      throw misconfigured("every signing key must be an Ed25519 JWK");
    if (typeof candidate.kid !== "string" || candidate.kid.length === 0 || candidate.kid.length > 64)
      throw misconfigured("every signing key needs a kid of 1-64 characters");
    const publicJwk: PublicJwk = {
      kty: "OKP",
      crv: "Ed25519",
      x: candidate.x,
      kid: candidate.kid,
      alg: ACCESS_TOKEN_ALGORITHM,
      use: "sig",
    };
    verifying.set(candidate.kid, await importKey(publicJwk));
    published.push(publicJwk);
    if (typeof candidate.d === "string") signing = { kid: candidate.kid, key: await importKey({ ...publicJwk, d: candidate.d }) };
  }
  if (!signing) throw misconfigured("holds no private key");
  return { signing, verifying, jwks: { keys: published } };
}

/** WebCrypto refuses a key of the wrong size or shape; that is this setting's fault, said as such. */
async function importKey(jwk: JWK): Promise<CryptoKey> {
  try {
    return (await importJWK(jwk, ACCESS_TOKEN_ALGORITHM)) as CryptoKey;
  } catch {
    throw misconfigured(`key ${jwk.kid} is not a valid Ed25519 key`);
  }
}

function misconfigured(why: string) {
  return new ConfigurationError("JWT_SIGNING_KEYS", why);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
