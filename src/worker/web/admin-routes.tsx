import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { html } from "hono/html";
import { z } from "zod";
import { digestsEqual, sha256 } from "../../shared/encoding";
import { log } from "../../shared/log";
import { adminSecret } from "../admin/auth";
import { clearAdminCookie, hasAdminCookie, requireExactOrigin, setAdminCookie } from "../admin/cookie";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { readJson } from "../http/body";
import { allowMethods } from "../http/methods";
import { ADMIN_COOKIE, jsonRequest, NO_STORE, openApiRoutes, PUBLIC, problems } from "../http/openapi";
import { admitAdminSignIn } from "../limits/limits";
import { AdminPage } from "./admin-page";

/**
 * The admin dashboard (docs/operations.md, "The admin dashboard"): the page, signing in with
 * ADMIN_TOKEN for a signed admin cookie, and signing out. Its data comes from /admin/api/*, which
 * app.ts hands to the admin API itself (adminApiRequest). Off (404) without ADMIN_TOKEN, like the API.
 */
export const adminPageRoutes = openApiRoutes<AppEnv>();

const page = createRoute({
  method: "get",
  path: "/admin",
  operationId: "adminDashboardPage",
  summary: "The admin dashboard (HTML); 404 while ADMIN_TOKEN is unset",
  tags: ["admin"],
  security: PUBLIC,
  responses: {
    200: {
      description: "The page: the sign-in form, or with a live admin cookie the dashboard, which loads its data itself",
      headers: { "Cache-Control": NO_STORE },
      content: { "text/html": { schema: z.string() } },
    },
    ...problems("not_found", "service_unavailable"),
  },
});

adminPageRoutes.openapi(page, async (c) => {
  adminSecret(c.env);
  const signedIn = await hasAdminCookie(c);
  c.header("Cache-Control", "no-store");
  return c.html(html`<!DOCTYPE html>${<AdminPage signedIn={signedIn} />}`, 200);
});

const SignIn = z.object({ token: z.string().min(1).max(1024).meta({ description: "The service's ADMIN_TOKEN" }) }).strict();
const COOKIE_SET = {
  description: "The admin cookie: `__Secure-admin_session`, `Path=/admin; Max-Age=1800; Secure; HttpOnly; SameSite=Strict`",
  schema: { type: "string" as const },
};

const signIn = createRoute({
  method: "post",
  path: "/admin/session",
  operationId: "adminDashboardSignIn",
  summary: "Present ADMIN_TOKEN once for a 30-minute admin cookie",
  description:
    "Requires `Origin` to be exactly this origin. Failures are limited per client address (5 in 15 minutes); the limit fails closed (503).",
  tags: ["admin"],
  security: PUBLIC,
  request: { body: jsonRequest(SignIn, { required: true }) },
  responses: {
    204: { description: "Signed in", headers: { "Cache-Control": NO_STORE, "Set-Cookie": COOKIE_SET } },
    ...problems(
      "validation_failed",
      "admin_unauthorized",
      "csrf_rejected",
      "not_found",
      "payload_too_large",
      "rate_limited",
      "service_unavailable",
    ),
  },
});

/**
 * Body first (a malformed request is no attempt), then one failure reserved in the address's
 * budget before the comparison, so parallel guesses cannot slip past the count; the digests are
 * compared in constant time, as requireAdmin does.
 */
adminPageRoutes.openapi(signIn, async (c) => {
  const secret = adminSecret(c.env);
  requireExactOrigin(c);
  const { token } = await readJson(c, SignIn);
  const attempt = await admitAdminSignIn(c);
  const [expected, presented] = await Promise.all([sha256(secret), sha256(token)]);
  const right = digestsEqual(expected, presented);
  await attempt.settle(right ? "succeeded" : "failed");
  c.header("Cache-Control", "no-store");
  if (!right) {
    log("warn", "admin dashboard sign-in refused", { actor: "admin" });
    throw new ApiError("admin_unauthorized", { headers: { "WWW-Authenticate": 'Bearer realm="admin"' } });
  }
  await setAdminCookie(c, secret);
  log("info", "admin dashboard signed in", { actor: "admin" });
  return c.body(null, 204);
});

const signOut = createRoute({
  method: "delete",
  path: "/admin/session",
  operationId: "adminDashboardSignOut",
  summary: "Clear the admin cookie in this browser",
  description: "Requires `Origin` to be exactly this origin. A copy of the cookie taken elsewhere stays valid until it expires.",
  tags: ["admin"],
  security: ADMIN_COOKIE,
  responses: {
    204: { description: "Signed out", headers: { "Cache-Control": NO_STORE, "Set-Cookie": { ...COOKIE_SET, description: "Clears it" } } },
    ...problems("csrf_rejected", "not_found", "payload_too_large", "service_unavailable"),
  },
});

adminPageRoutes.openapi(signOut, (c) => {
  adminSecret(c.env);
  requireExactOrigin(c);
  clearAdminCookie(c);
  c.header("Cache-Control", "no-store");
  return c.body(null, 204);
});

allowMethods(adminPageRoutes, "/admin", ["GET"]);
allowMethods(adminPageRoutes, "/admin/session", ["POST", "DELETE"]);

/**
 * /admin/api/<path> as the admin API request it stands for: /v1/admin/<path>, the same method,
 * query and body, with ADMIN_TOKEN as the bearer credential and without the cookie. The admin
 * route handlers then answer it unchanged (requireAdminCookie has already checked the cookie and
 * the Origin), so the dashboard can do nothing the API cannot.
 */
export function adminApiRequest(c: Context<AppEnv>): Request {
  const url = new URL(c.req.url);
  // Dot segments are resolved by the URL parser before this, and the router does not decode %2F:
  // the request stays under /v1/admin.
  url.pathname = `/v1/admin${url.pathname.slice("/admin/api".length)}`;
  const request = new Request(url, c.req.raw);
  request.headers.delete("Cookie");
  request.headers.set("Authorization", `Bearer ${adminSecret(c.env)}`);
  return request;
}
