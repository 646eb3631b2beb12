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

/**
 * RFC 6797: a year, for this host and its subdomains (`*.auth.example.com`, not the rest of
 * example.com); no `preload`, which is the operator's commitment to make. Browsers ignore it over
 * plain HTTP (§8.1), so `wrangler dev` on http://localhost is unaffected.
 */
export const STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains";

export const securityHeaders = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  await next();
  // A 101 carries a WebSocket; its headers are the handshake's and are left alone.
  if (c.res.status === 101) return;
  // Anything but an explicit "off" sends it: a mistyped value fails closed (and is a 503 on the API).
  if (c.env.STRICT_TRANSPORT_SECURITY !== "off") c.header("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY);
  // Every API answer is per user or carries tokens (ASVS 5.0 V14.3.2, RFC 9111 §5.2.2.5): no cache,
  // the browser's or a shared one, may keep it. A route that sets its own Cache-Control keeps it.
  if (c.req.path.startsWith("/v1/") && !c.res.headers.has("Cache-Control")) c.header("Cache-Control", "no-store");
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Referrer-Policy", "no-referrer");
  c.header("Content-Security-Policy", CONTENT_SECURITY_POLICY);
  c.header("X-Frame-Options", "DENY");
  // RFC 9110 §6.6.1; Cloudflare's edge adds it too, but a DPoP client corrects its clock from it
  // (RFC 9449 §11.1), so the service sends it itself, wherever it runs.
  if (!c.res.headers.has("Date")) c.header("Date", new Date().toUTCString());
});
