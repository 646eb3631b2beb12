import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { adminRoutes } from "./admin/routes";
import { authRoutes } from "./auth/routes";
import type { AppEnv } from "./env";
import { ApiError, problemResponse, toApiError } from "./errors";
import { securityEventRoutes } from "./history/routes";
import { MAX_BODY_BYTES } from "./http/body";
import { allowMethods } from "./http/methods";
import { liveRoutes } from "./live/routes";
import { isOAuthPath, oauthErrorResponse } from "./oauth/errors";
import { oauthMetadataRoutes } from "./oauth/metadata";
import { oauthRoutes } from "./oauth/routes";
import { tokenRoutes } from "./oauth/token";
import { requestLog } from "./ops/logging";
import { meRoutes, sessionRoutes } from "./sessions/routes";
import { requireSettings } from "./settings";
import { jwksRoutes } from "./tokens/routes";
import { securityHeaders } from "./web/headers";
import { webRoutes } from "./web/routes";

export const app = new Hono<AppEnv>();

app.use(requestLog);
app.use(securityHeaders);
app.use(
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => errorResponse(c.req.path, new ApiError("payload_too_large", { detail: `The limit is ${MAX_BODY_BYTES} bytes` })),
  }),
);
app.use("/v1/*", requireSettings);
app.use("/.well-known/*", requireSettings);

app.route("/", webRoutes);
app.get("/healthz", (c) => c.json({ status: "ok" }));
allowMethods(app, "/healthz", ["GET"]);
app.route("/.well-known", jwksRoutes);
app.route("/.well-known", oauthMetadataRoutes);
app.route("/v1/auth", authRoutes);
app.route("/v1/me", meRoutes);
app.route("/v1/sessions/live", liveRoutes);
app.route("/v1/sessions", sessionRoutes);
app.route("/v1/oauth", oauthRoutes);
app.route("/v1/oauth", tokenRoutes);
app.route("/v1/security-events", securityEventRoutes);
app.route("/v1/admin", adminRoutes);

app.notFound((c) => errorResponse(c.req.path, new ApiError("not_found")));

/** The one place errors become responses. Headers a handler already set (a cleared cookie) are kept. */
app.onError((error, c) => {
  const apiError = toApiError(error);
  const response = errorResponse(c.req.path, apiError);
  return c.newResponse(response.body, { status: response.status as ContentfulStatusCode, headers: response.headers });
});

/** problem+json everywhere, but OAuth's own error format under /v1/oauth/ (RFC 6749 §5.2). */
function errorResponse(path: string, error: ApiError): Response {
  return isOAuthPath(path) ? oauthErrorResponse(error) : problemResponse(error);
}
