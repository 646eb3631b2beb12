import { createMiddleware } from "hono/factory";

/**
 * A strict policy for every response (JSON included, where it costs nothing): the page runs only
 * its own script and stylesheet from /assets, talks only to this origin (fetch and the live
 * WebSocket; CSP 3 lets 'self' match ws:/wss: on the same host), and cannot be framed.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join("; ");

export const securityHeaders = createMiddleware(async (c, next) => {
  await next();
  // A 101 carries a WebSocket; its headers are the handshake's and are left alone.
  if (c.res.status === 101) return;
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Referrer-Policy", "no-referrer");
  c.header("Content-Security-Policy", CONTENT_SECURITY_POLICY);
  c.header("X-Frame-Options", "DENY");
  // RFC 9110 §6.6.1; Cloudflare's edge adds it too, but a DPoP client corrects its clock from it
  // (RFC 9449 §11.1), so the service sends it itself, wherever it runs.
  if (!c.res.headers.has("Date")) c.header("Date", new Date().toUTCString());
});
