import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { requireAdminCookie } from "./admin/cookie";
import { adminHistoryRoutes } from "./admin/history";
import { adminRoutes } from "./admin/routes";
import { reauthenticateRoutes } from "./auth/reauthenticate";
import { authRoutes } from "./auth/routes";
import { dbscRoutes } from "./dbsc/routes";
import { dbscSkippedReports } from "./dbsc/skipped";
import type { AppEnv } from "./env";
import { ApiError, problemResponse, toApiError } from "./errors";
import { securityEventRoutes } from "./history/routes";
import { limitBody } from "./http/body";
import { allowMethods } from "./http/methods";
import { openApiDocument, PUBLIC, problems, validationHook } from "./http/openapi";
import { liveRoutes } from "./live/routes";
import { noticeRoutes } from "./notices/routes";
import { isOAuthPath, oauthErrorResponse } from "./oauth/errors";
import { oauthMetadataRoutes } from "./oauth/metadata";
import { oauthRoutes } from "./oauth/routes";
import { tokenRoutes } from "./oauth/token";
import { requestLog } from "./ops/logging";
import { healthRoutes } from "./ops/routes";
import { passkeyRoutes, passkeySignInRoutes } from "./passkeys/routes";
import { meRoutes, sessionRoutes } from "./sessions/routes";
import { requireSettings } from "./settings";
import { jwksRoutes } from "./tokens/routes";
import { adminApiRequest, adminPageRoutes } from "./web/admin-routes";
import { securityHeaders } from "./web/headers";
import { webRoutes } from "./web/routes";
import { noticeLinkRoutes } from "./web/was-this-you";

export const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

app.use(requestLog);
app.use(securityHeaders);
app.use(limitBody());
app.use("/v1/*", requireSettings);
app.use("/.well-known/*", requireSettings);
app.use(dbscSkippedReports);
// The notice link page reaches a registry: the same settings checks first.
app.use("/was-this-you", requireSettings);
// The admin dashboard reaches the limiter and, through /admin/api, registries.
app.use("/admin", requireSettings);
app.use("/admin/*", requireSettings);

app.route("/", webRoutes);
app.route("/", healthRoutes);
app.route("/.well-known", jwksRoutes);
app.route("/.well-known", oauthMetadataRoutes);
app.route("/v1/auth", authRoutes);
app.route("/v1/auth", passkeySignInRoutes);
app.route("/v1/auth", reauthenticateRoutes);
app.route("/v1/auth/dbsc", dbscRoutes);
app.route("/v1/passkeys", passkeyRoutes);
app.route("/v1/me", meRoutes);
app.route("/v1/sessions/live", liveRoutes);
app.route("/v1/sessions", sessionRoutes);
app.route("/v1/oauth", oauthRoutes);
app.route("/v1/oauth", tokenRoutes);
app.route("/v1/security-events", securityEventRoutes);
app.route("/v1/notices", noticeRoutes);
app.route("/", noticeLinkRoutes);
app.route("/v1/admin", adminRoutes);
app.route("/v1/admin", adminHistoryRoutes);
app.route("/", adminPageRoutes);
/**
 * The dashboard's data: behind its cookie (and the exact Origin for unsafe methods), each request
 * becomes the admin API request it stands for and is answered by the admin routes themselves, so
 * the dashboard has no handlers of its own to drift from the API's. Not in the OpenAPI document:
 * it is /v1/admin/* again, under another credential (docs/operations.md).
 */
app.all("/admin/api/*", requireAdminCookie, (c) => app.fetch(adminApiRequest(c), c.env, c.executionCtx));

const getOpenApi = createRoute({
  method: "get",
  path: "/openapi.json",
  operationId: "getOpenApiDocument",
  summary: "This document (OpenAPI 3.1), generated from the routes",
  tags: ["operations"],
  security: PUBLIC,
  responses: {
    200: {
      description: "The OpenAPI document; docs/openapi.json is the same, committed",
      content: { "application/json": { schema: z.object({ openapi: z.literal("3.1.0") }).catchall(z.unknown()) } },
    },
    ...problems(),
  },
});
// Built once per isolate, on first use: after this line every route is registered.
let document: ReturnType<typeof openApiDocument> | undefined;
app.openapi(getOpenApi, (c) => c.json((document ??= openApiDocument(app)) as { openapi: "3.1.0" }, 200));
allowMethods(app, "/openapi.json", ["GET"]);

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
