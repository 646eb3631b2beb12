import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";

/** An incoming request id is kept only if it is a short token: it lands in logs and a header verbatim. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{8,64}$/;

/**
 * One JSON line per request, for Workers Logs / Logpush. It carries ids and outcomes only: never
 * a token, a password, a cookie, a refresh hash, a body or a query string (the route pattern is
 * logged instead of the path, and admin searches by email travel in the query).
 */
export const requestLog = createMiddleware<AppEnv>(async (c, next) => {
  const started = Date.now();
  const incoming = c.req.header("X-Request-Id");
  const requestId = incoming !== undefined && SAFE_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
  await next();
  c.header("X-Request-Id", requestId);
  const caller = c.get("caller");
  console.log(
    JSON.stringify({
      level: c.res.status >= 500 ? "error" : "info",
      msg: "request",
      request_id: requestId,
      method: c.req.method,
      route: c.req.routePath,
      status: c.res.status,
      duration_ms: Date.now() - started,
      user_id: caller?.userId ?? null,
      session_id: caller?.sessionId ?? null,
    }),
  );
});
