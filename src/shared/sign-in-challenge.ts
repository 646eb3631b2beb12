import { CEREMONY_TIMEOUT_MS } from "../contract/passkeys";
import { base64url, digestsEqual, fromBase64url, randomBytes } from "./encoding";
import { refreshKeys } from "./refresh-token";

/**
 * Passkey sign-in challenges. The user is unknown until the assertion names its credential, so the
 * challenge cannot wait in that user's registry; it is not stored anywhere when issued. Instead it
 * is self-verifying: 16 random bytes, its expiry, and an HMAC over both under a key derived from
 * REFRESH_TOKEN_SECRET (HKDF, its own label). The registry of the user the assertion names then
 * records it as spent in the same call that creates the session, until it would expire anyway, so
 * it works once (docs/storage-schema.md "spent_sign_in_challenges"). Nothing is written for the
 * challenges nobody answers, so issuing them costs no storage.
 */
export const SIGN_IN_CHALLENGE_TTL_MS = CEREMONY_TIMEOUT_MS;

const NONCE_BYTES = 16;
const TAG_BYTES = 16;
const keyCache = new Map<string, Promise<CryptoKey>>();

async function challengeKey(secret: string | undefined): Promise<CryptoKey> {
  // The same check and the same ConfigurationError as the refresh-token keys.
  await refreshKeys(secret);
  const known = secret!;
  let pending = keyCache.get(known);
  if (!pending) {
    pending = (async () => {
      const base = await crypto.subtle.importKey("raw", fromBase64url(known)!, "HKDF", false, ["deriveKey"]);
      return crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: new TextEncoder().encode("webauthn-sign-in-challenge/v1") },
        base,
        { name: "HMAC", hash: "SHA-256", length: 256 },
        false,
        ["sign"],
      );
    })();
    keyCache.set(known, pending);
  }
  return pending;
}

async function tagOf(key: CryptoKey, body: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, body)).slice(0, TAG_BYTES);
}

/** A fresh challenge, valid for SIGN_IN_CHALLENGE_TTL_MS from `nowMs`. */
export async function mintSignInChallenge(secret: string | undefined, nowMs = Date.now()): Promise<string> {
  const key = await challengeKey(secret);
  const body = new Uint8Array(NONCE_BYTES + 8);
  body.set(randomBytes(NONCE_BYTES));
  new DataView(body.buffer).setBigUint64(NONCE_BYTES, BigInt(nowMs + SIGN_IN_CHALLENGE_TTL_MS));
  const out = new Uint8Array(body.length + TAG_BYTES);
  out.set(body);
  out.set(await tagOf(key, body), body.length);
  return base64url(out);
}

/** The challenge's expiry (epoch ms) if this service minted it and it has not expired; null otherwise. Says nothing of use. */
export async function readSignInChallenge(secret: string | undefined, challenge: unknown, nowMs = Date.now()): Promise<number | null> {
  const key = await challengeKey(secret);
  const bytes = typeof challenge === "string" && challenge.length <= 64 ? fromBase64url(challenge) : null;
  if (!bytes || bytes.length !== NONCE_BYTES + 8 + TAG_BYTES) return null;
  const body = bytes.slice(0, NONCE_BYTES + 8);
  if (!digestsEqual(await tagOf(key, body), bytes.slice(NONCE_BYTES + 8))) return null;
  const expiresAt = Number(new DataView(body.buffer).getBigUint64(NONCE_BYTES));
  return expiresAt > nowMs ? expiresAt : null;
}
