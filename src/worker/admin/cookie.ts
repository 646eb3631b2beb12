import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { base64url, digestsEqual, fromBase64url } from "../../shared/encoding";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { adminSecret } from "./auth";

/**
 * The dashboard's credential (docs/operations.md, "The admin dashboard"). The operator presents
 * ADMIN_TOKEN once; the browser then holds `v1.<expiry>.<mac>`, never the token itself: the MAC is
 * HMAC-SHA-256 over the expiry under a key derived from ADMIN_TOKEN (HKDF, its own label), so a
 * rotated ADMIN_TOKEN ends every admin cookie at once, and a leaked cookie is worth at most
 * ADMIN_COOKIE_SECONDS. The lifetime is absolute: nothing renews it.
 *
 * `__Secure-` (Secure is required) rather than `__Host-`, which would force Path=/: the cookie is
 * scoped to /admin so no other page of the origin ever sends it. Chromium and Firefox treat
 * http://localhost as a secure context, so `wrangler dev` needs no insecure variant, as with the
 * refresh cookie (src/worker/auth/cookies.ts).
 */
export const ADMIN_COOKIE_SECONDS = 30 * 60;
const COOKIE = "admin_session";
export const ADMIN_COOKIE_NAME = `__Secure-${COOKIE}`;
export const ADMIN_COOKIE_PATH = "/admin";
const VERSION = "v1";

const keys = new Map<string, Promise<CryptoKey>>();

/** One HMAC key per ADMIN_TOKEN value, derived once per isolate. */
function keyFor(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = (async () => {
      const base = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), "HKDF", false, ["deriveKey"]);
      return crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: new TextEncoder().encode("admin-cookie/v1") },
        base,
        { name: "HMAC", hash: "SHA-256", length: 256 },
        false,
        ["sign"],
      );
    })();
    // A rotation leaves the old key behind: keep only the current one.
    keys.clear();
    keys.set(secret, key);
  }
  return key;
}

async function mac(secret: string, expiresAtSeconds: number): Promise<Uint8Array<ArrayBuffer>> {
  const signed = new TextEncoder().encode(`${VERSION}.${expiresAtSeconds}`);
  return new Uint8Array(await crypto.subtle.sign("HMAC", await keyFor(secret), signed));
}

/** The cookie's value for an expiry (seconds since the epoch). Exported for the tests, which craft expired ones. */
export async function adminCookieValue(secret: string, expiresAtSeconds: number): Promise<string> {
  return `${VERSION}.${expiresAtSeconds}.${base64url(await mac(secret, expiresAtSeconds))}`;
}

/** Whether a presented value is one this ADMIN_TOKEN signed and has not expired. The MACs are compared in constant time. */
export async function validAdminCookie(secret: string, value: string | undefined, nowMs: number): Promise<boolean> {
  const match = /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value ?? "");
  const presented = match ? fromBase64url(match[2]!) : null;
  if (!match || !presented) return false;
  const expiresAt = Number(match[1]);
  const expected = await mac(secret, expiresAt);
  return digestsEqual(expected, presented) && expiresAt * 1000 > nowMs;
}

export async function setAdminCookie(c: Context<AppEnv>, secret: string): Promise<void> {
  const expiresAt = Math.floor(Date.now() / 1000) + ADMIN_COOKIE_SECONDS;
  setCookie(c, COOKIE, await adminCookieValue(secret, expiresAt), {
    prefix: "secure",
    path: ADMIN_COOKIE_PATH,
    secure: true,
    httpOnly: true,
    sameSite: "Strict",
    maxAge: ADMIN_COOKIE_SECONDS,
  });
}

export function clearAdminCookie(c: Context<AppEnv>): void {
  deleteCookie(c, COOKIE, { prefix: "secure", path: ADMIN_COOKIE_PATH, secure: true, httpOnly: true, sameSite: "Strict" });
}

/** Whether this request carries a live admin cookie (ADMIN_TOKEN must be set and long enough: see adminSecret). */
export async function hasAdminCookie(c: Context<AppEnv>): Promise<boolean> {
  return validAdminCookie(adminSecret(c.env), getCookie(c, COOKIE, "secure"), Date.now());
}

/**
 * CSRF: every unsafe request the dashboard makes is a same-origin fetch, which always carries
 * `Origin` (Fetch §3.1, "append a request `Origin` header"), so the dashboard demands it, and
 * exactly this origin: no missing-Origin allowance for non-browser clients (they have the bearer
 * API) and no ALLOWED_ORIGINS (a cross-origin page has no business here). SameSite=Strict is the
 * second line.
 */
export function requireExactOrigin(c: Context<AppEnv>): void {
  if (["GET", "HEAD", "OPTIONS"].includes(c.req.method)) return;
  if (c.req.header("Origin") !== new URL(c.req.url).origin) throw new ApiError("csrf_rejected");
}

/** The guard of /admin/api/*: the Origin check for unsafe methods, then a live admin cookie, or 401. */
export const requireAdminCookie = createMiddleware<AppEnv>(async (c, next) => {
  adminSecret(c.env);
  requireExactOrigin(c);
  if (!(await hasAdminCookie(c))) throw new ApiError("admin_unauthorized");
  await next();
});
