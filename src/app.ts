import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { adminRoutes } from "./admin/routes";
import type { AppEnv } from "./app-env";
import { authRoutes } from "./auth/routes";
import { ApiError, problemResponse } from "./errors";
import { securityEventRoutes } from "./events/routes";
import { MAX_BODY_BYTES } from "./http/body";
import { allowMethods } from "./http/methods";
import { oauthRoutes } from "./oauth/routes";
import { requestLog } from "./ops/logging";
import { meRoutes, sessionRoutes } from "./sessions/routes";
import { jwksRoutes } from "./tokens/routes";

export const app = new Hono<AppEnv>();

app.use(requestLog);
app.use(async (c, next) => {
  await next();
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Referrer-Policy", "no-referrer");
});
app.use(bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => problemResponse(new ApiError("payload_too_large", `The limit is ${MAX_BODY_BYTES} bytes`)) }));

app.get("/healthz", (c) => c.json({ status: "ok" }));
allowMethods(app, "/healthz", ["GET"]);
app.route("/.well-known", jwksRoutes);
app.route("/v1/auth", authRoutes);
app.route("/v1/me", meRoutes);
app.route("/v1/sessions", sessionRoutes);
app.route("/v1/oauth", oauthRoutes);
app.route("/v1/security-events", securityEventRoutes);
app.route("/v1/admin", adminRoutes);

app.notFound(() => problemResponse(new ApiError("not_found")));

/** The one place errors become responses. Headers a handler already set (a cleared cookie) are kept. */
app.onError((error, c) => {
  const apiError = toApiError(error);
  const problem = problemResponse(apiError);
  return c.newResponse(problem.body, { status: apiError.status, headers: problem.headers });
});

function toApiError(error: Error): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof HTTPException && error.status < 500) {
    return new ApiError(error.status === 413 ? "payload_too_large" : "validation_failed", error.message);
  }
  console.error(JSON.stringify({ level: "error", msg: "unhandled error", error: error instanceof Error ? error.stack : String(error) }));
  return new ApiError("internal_error");
}
