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

export function readRefreshCookie(c: Context): string | undefined {
  return getCookie(c, REFRESH_COOKIE, "host");
}

export function setRefreshCookie(c: Context, token: string, maxAgeSeconds: number): void {
  setCookie(c, REFRESH_COOKIE, token, {
    prefix: "host",
    path: "/",
    secure: true,
    httpOnly: true,
    sameSite: "Strict",
    maxAge: Math.max(0, Math.floor(maxAgeSeconds)),
  });
}

export function clearRefreshCookie(c: Context): void {
  deleteCookie(c, REFRESH_COOKIE, { prefix: "host", path: "/", secure: true, httpOnly: true, sameSite: "Strict" });
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
