import { EVENT_ID, USER_ID } from "../contract/ids";
import { base64url, digestsEqual, fromBase64url } from "./encoding";
import { refreshKeys } from "./refresh-token";

/**
 * The token of a "was this you?" link, sent in the webhook event of a risk finding so that an
 * application can put the two answers in an email (docs/devices.md):
 *
 *   <userId>.<noticeId>.<expires (unix seconds)>.<tag>
 *
 * - userId picks the user's registry without a database lookup; noticeId is the finding's event id;
 * - tag = HMAC-SHA256 over everything before it, under a key derived from REFRESH_TOKEN_SECRET
 *   (HKDF, its own label), compared in constant time (two fixed-length digests);
 * - short-lived: NOTICE_LINK_TTL_SECONDS from the finding;
 * - single use: the registry answers a notice once; once answered (on a device or by a link),
 *   every link of it is spent (`risk_notices.answered_at`).
 * The token is a bearer capability for one notice of one user: it can acknowledge the finding or
 * end the flagged session, nothing else, and it never signs anyone in.
 */
export const NOTICE_LINK_TTL_SECONDS = 24 * 60 * 60;
const MAX_LENGTH = 256;
const unanchored = (pattern: RegExp) => pattern.source.replace(/^\^|\$$/g, "");
const SHAPE = new RegExp(`^(${unanchored(USER_ID)})\\.(${unanchored(EVENT_ID)})\\.([1-9][0-9]{0,11})\\.([A-Za-z0-9_-]{43})$`);
const keyCache = new Map<string, Promise<CryptoKey>>();

function linkKey(secret: string | undefined): Promise<CryptoKey> {
  let pending = secret ? keyCache.get(secret) : undefined;
  if (!pending) {
    pending = (async () => {
      // The same check and the same ConfigurationError as the refresh-token keys.
      await refreshKeys(secret);
      const base = await crypto.subtle.importKey("raw", fromBase64url(secret!)!, "HKDF", false, ["deriveKey"]);
      return crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: new TextEncoder().encode("risk-notice-link/v1") },
        base,
        { name: "HMAC", hash: "SHA-256", length: 256 },
        false,
        ["sign"],
      );
    })();
    if (secret) keyCache.set(secret, pending);
  }
  return pending;
}

async function tagOf(key: CryptoKey, body: string): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body)));
}

export async function mintNoticeLink(secret: string | undefined, userId: string, noticeId: string, expiresAtMs: number): Promise<string> {
  const body = `${userId}.${noticeId}.${Math.floor(expiresAtMs / 1000)}`;
  return `${body}.${base64url(await tagOf(await linkKey(secret), body))}`;
}

/** The user and notice a link answers, if this service minted it and it has not expired; null otherwise. */
export async function readNoticeLink(
  secret: string | undefined,
  token: unknown,
  nowMs: number,
): Promise<{ userId: string; noticeId: string; expiresAt: number } | null> {
  if (typeof token !== "string" || token.length > MAX_LENGTH) return null;
  const match = SHAPE.exec(token);
  const tag = match ? fromBase64url(match[4]!) : null;
  if (!match || !tag) return null;
  const body = `${match[1]}.${match[2]}.${match[3]}`;
  if (!digestsEqual(await tagOf(await linkKey(secret), body), tag)) return null;
  const expiresAt = Number(match[3]) * 1000;
  return expiresAt > nowMs ? { userId: match[1]!, noticeId: match[2]!, expiresAt } : null;
}
