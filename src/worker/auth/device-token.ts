import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { configFrom } from "../../shared/config";
import { base64url, digestsEqual, fromBase64url, randomBytes } from "../../shared/encoding";
import { refreshKeys } from "../../shared/refresh-token";
import type { AppEnv } from "../env";

/**
 * Device credentials, after OWASP's "Slow Down Online Guessing Attacks with Device Cookies": a
 * device that has signed in to an account holds a credential saying so, and its failed sign-ins
 * count against a small budget of its own instead of the account's, so strangers guessing at the
 * account never lock its owner's devices out (limits.ts).
 *
 *   v1.<issued at, unix seconds>.<nonce>.<tag>     tag = HMAC(device key, user id, password epoch, issued at, nonce)
 *
 * - the user id is in the tag, not the token: a credential is good for one account only, and the
 *   cookie names nobody;
 * - the password epoch (`passwordChangedAt`) is in the tag too, so a password change revokes every
 *   credential at once (a thief who signed in with the old password keeps no budget of its own);
 * - the nonce names the device's budget (`device:<user>:<nonce>`); a new sign-in gets a new one;
 * - the key is derived from REFRESH_TOKEN_SECRET by HKDF (refresh-token.ts), so no new secret; the
 *   tag is compared in constant time (fixed length).
 */
export interface KnownDevice {
  userId: string;
  nonce: string;
}

const SHAPE = /^v1\.([1-9][0-9]{0,10})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;
/** A credential dated this far in the future is still taken (clocks of isolates differ a little). */
const SKEW_SECONDS = 60;
/** `__Host-`: Secure, Path=/, no Domain, so no subdomain can plant one. */
const DEVICE_COOKIE = "device_token";
export const MAX_DEVICE_TOKEN_LENGTH = 96;

interface Account {
  id: string;
  passwordChangedAt: number | null;
}

async function tagOf(env: Env, account: Account, issuedAt: number, nonce: string): Promise<Uint8Array<ArrayBuffer>> {
  const { device } = await refreshKeys(env.REFRESH_TOKEN_SECRET);
  const text = `device-token/v1|${account.id}|${account.passwordChangedAt ?? 0}|${issuedAt}|${nonce}`;
  return new Uint8Array(await crypto.subtle.sign("HMAC", device, new TextEncoder().encode(text)));
}

export async function mintDeviceToken(env: Env, account: Account, now = Date.now()): Promise<string> {
  const issuedAt = Math.floor(now / 1000);
  const nonce = base64url(randomBytes(16));
  return `v1.${issuedAt}.${nonce}.${base64url(await tagOf(env, account, issuedAt, nonce))}`;
}

/** The device a presented credential proves, or null: malformed, expired, another account's, or from before a password change. */
export async function knownDevice(
  env: Env,
  account: Account | undefined,
  presented: string | undefined,
  ttlSeconds: number,
  now = Date.now(),
): Promise<KnownDevice | null> {
  if (!account || presented === undefined) return null;
  const match = SHAPE.exec(presented);
  if (!match) return null;
  const issuedAt = Number(match[1]);
  const seconds = now / 1000;
  if (issuedAt > seconds + SKEW_SECONDS || issuedAt + ttlSeconds <= seconds) return null;
  const tag = fromBase64url(match[3]!);
  if (!tag || !fromBase64url(match[2]!)) return null;
  const expected = await tagOf(env, account, issuedAt, match[2]!);
  return digestsEqual(expected, tag) ? { userId: account.id, nonce: match[2]! } : null;
}

export function readDeviceCookie(c: Context): string | undefined {
  return getCookie(c, DEVICE_COOKIE, "host");
}

/** The credential a request presents: the body's `device_token` (body transport) wins over the cookie. */
export function presentedDeviceToken(c: Context, fromBody: string | undefined): string | undefined {
  return fromBody ?? readDeviceCookie(c);
}

/** The known device behind a request, for a password or passkey attempt on `account` (limits.ts picks its budget). */
export function deviceOf(c: Context<AppEnv>, account: Account | undefined, fromBody: string | undefined) {
  return knownDevice(c.env, account, presentedDeviceToken(c, fromBody), configFrom(c.env).deviceTokenTtlSeconds);
}

/** HttpOnly and SameSite=Strict like the refresh cookie; it outlives sessions (a signed-out device stays known). */
export function setDeviceCookie(c: Context, token: string, maxAgeSeconds: number): void {
  setCookie(c, DEVICE_COOKIE, token, {
    prefix: "host",
    path: "/",
    secure: true,
    httpOnly: true,
    sameSite: "Strict",
    maxAge: maxAgeSeconds,
  });
}
