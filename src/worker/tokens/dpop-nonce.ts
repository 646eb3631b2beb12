import { ConfigurationError, DPOP_CLOCK_SKEW_SECONDS, type DpopSettings } from "../../shared/config";
import { base64url, digestsEqual, fromBase64url } from "../../shared/encoding";

/**
 * Server nonces for DPoP (RFC 9449 §8-9), stateless: `<issued at, ms, base36>.<tag>`, the tag an
 * HMAC of the time under a key derived from REFRESH_TOKEN_SECRET. The Worker can check one before
 * it knows the user (sign-in asks for one before any password work), and the time inside tells the
 * registry whether a proof was made after a given moment, which is what keeps a replayed proof out
 * after the registry restarts (docs/storage-schema.md, "DPoP replay state").
 */

const keys = new Map<string, Promise<CryptoKey>>();

function nonceKey(secret: string | undefined): Promise<CryptoKey> {
  const material = secret ? fromBase64url(secret) : null;
  if (!secret || !material || material.byteLength < 32)
    return Promise.reject(new ConfigurationError("REFRESH_TOKEN_SECRET", "must be at least 32 bytes of base64url"));
  let pending = keys.get(secret);
  if (!pending) {
    pending = crypto.subtle
      .importKey("raw", material, "HKDF", false, ["deriveKey"])
      .then((base) =>
        crypto.subtle.deriveKey(
          { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: new TextEncoder().encode("dpop-nonce/v1") },
          base,
          { name: "HMAC", hash: "SHA-256", length: 256 },
          false,
          ["sign"],
        ),
      );
    keys.set(secret, pending);
  }
  return pending;
}

async function tagOf(secret: string | undefined, issued: string): Promise<Uint8Array<ArrayBuffer>> {
  const mac = await crypto.subtle.sign("HMAC", await nonceKey(secret), new TextEncoder().encode(`dpop-nonce.${issued}`));
  return new Uint8Array(mac.slice(0, 16));
}

export async function issueDpopNonce(secret: string | undefined, nowMs: number): Promise<string> {
  const issued = nowMs.toString(36);
  return `${issued}.${base64url(await tagOf(secret, issued))}`;
}

/** When a nonce of ours was issued, if it is genuine and still within its lifetime; otherwise null. */
export async function dpopNonceIssuedAt(
  secret: string | undefined,
  settings: DpopSettings,
  nonce: unknown,
  nowMs: number,
): Promise<number | null> {
  if (typeof nonce !== "string" || nonce.length > 64) return null;
  const match = /^([0-9a-z]{1,11})\.([A-Za-z0-9_-]{22})$/.exec(nonce);
  const tag = match ? fromBase64url(match[2]!) : null;
  if (!match || !tag) return null;
  const issuedAt = Number.parseInt(match[1]!, 36);
  if (issuedAt > nowMs + DPOP_CLOCK_SKEW_SECONDS * 1000 || nowMs - issuedAt > settings.nonceLifetimeSeconds * 1000) return null;
  return digestsEqual(await tagOf(secret, match[1]!), tag) ? issuedAt : null;
}

/**
 * The nonce an answer offers (`DPoP-Nonce`), or null: with nonces on, a fresh one once the proof's
 * own is half its lifetime old, so clients move to the next before theirs runs out.
 */
export async function nonceToOffer(
  secret: string | undefined,
  settings: DpopSettings,
  presentedAt: number | null,
  nowMs: number,
): Promise<string | null> {
  if (!settings.nonces) return null;
  if (presentedAt !== null && nowMs - presentedAt < (settings.nonceLifetimeSeconds * 1000) / 2) return null;
  return issueDpopNonce(secret, nowMs);
}
