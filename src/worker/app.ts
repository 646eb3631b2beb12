import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { adminRoutes } from "./admin/routes";
import { reauthenticateRoutes } from "./auth/reauthenticate";
import { authRoutes } from "./auth/routes";
import type { AppEnv } from "./env";
import { ApiError, problemResponse, toApiError } from "./errors";
import { securityEventRoutes } from "./history/routes";
import { MAX_BODY_BYTES } from "./http/body";
import { allowMethods } from "./http/methods";
import { liveRoutes } from "./live/routes";
import { oauthRoutes } from "./oauth/routes";
import { requestLog } from "./ops/logging";
import { passkeyRoutes, passkeySignInRoutes } from "./passkeys/routes";
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
    onError: () => problemResponse(new ApiError("payload_too_large", { detail: `The limit is ${MAX_BODY_BYTES} bytes` })),
  }),
);
app.use("/v1/*", requireSettings);
app.use("/.well-known/*", requireSettings);

app.route("/", webRoutes);
app.get("/healthz", (c) => c.json({ status: "ok" }));
allowMethods(app, "/healthz", ["GET"]);
app.route("/.well-known", jwksRoutes);
app.route("/v1/auth", authRoutes);
app.route("/v1/auth", passkeySignInRoutes);
app.route("/v1/auth", reauthenticateRoutes);
app.route("/v1/passkeys", passkeyRoutes);
app.route("/v1/me", meRoutes);
app.route("/v1/sessions/live", liveRoutes);
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
