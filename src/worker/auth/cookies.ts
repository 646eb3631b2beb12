import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { configFrom } from "../../shared/config";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";

/**
 * `__Host-` prefix: Secure, Path=/, no Domain, so no subdomain can plant or overwrite it.
 * HttpOnly keeps it from scripts; SameSite=Strict keeps it off cross-site requests.
 */
const REFRESH_COOKIE = "refresh_token";
/** The cookie as a browser stores it: DBSC session instructions name it and its attributes exactly (docs/dbsc.md). */
export const REFRESH_COOKIE_NAME = `__Host-${REFRESH_COOKIE}`;
export const REFRESH_COOKIE_ATTRIBUTES = "Path=/; Secure; HttpOnly; SameSite=Strict";

export function readRefreshCookie(c: Context): string | undefined {
  return getCookie(c, REFRESH_COOKIE, "host");
}

/**
 * Beside it, readable by scripts and holding no secret: "a refresh cookie was set here and not
 * cleared". The page reads it to know whether a refresh is worth trying, so a fresh visit makes no
 * request that is sure to fail (and no 401 in the console). A hint only: the refresh decides.
 */
const SIGNED_IN_MARKER = "signed_in";

/** Both cookies, set and cleared alike (Hono's `host` prefix would force `Path=/` and `Secure` anyway). */
const HOST_COOKIE = { prefix: "host", path: "/", secure: true, sameSite: "Strict" } as const;

export function setRefreshCookie(c: Context, token: string, maxAgeSeconds: number): void {
  const maxAge = Math.max(0, Math.floor(maxAgeSeconds));
  setCookie(c, REFRESH_COOKIE, token, { ...HOST_COOKIE, httpOnly: true, maxAge });
  setCookie(c, SIGNED_IN_MARKER, "1", { ...HOST_COOKIE, maxAge });
}

export function clearRefreshCookie(c: Context): void {
  deleteCookie(c, REFRESH_COOKIE, { ...HOST_COOKIE, httpOnly: true });
  deleteCookie(c, SIGNED_IN_MARKER, HOST_COOKIE);
}

/**
 * CSRF defence for cookie-authenticated POSTs: a browser always sends `Origin` on a cross-origin
 * POST, so a foreign one is refused. Without `Origin`, a browser's `Sec-Fetch-Site` (Fetch
 * Metadata) still tells a request from another site or subdomain, which is refused too; a request
 * with neither comes from a non-browser client, which is allowed.
 */
export function assertSameOrigin(c: Context<AppEnv>): void {
  const origin = c.req.header("Origin");
  if (origin === undefined) {
    const site = c.req.header("Sec-Fetch-Site");
    if (site === undefined || site === "same-origin" || site === "none") return;
    throw new ApiError("csrf_rejected");
  }
  if (origin === new URL(c.req.url).origin || configFrom(c.env).allowedOrigins.includes(origin)) return;
  throw new ApiError("csrf_rejected");
}
