import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { z } from "zod";
import { SESSION_ID, USER_ID } from "../../contract/ids";
import { iso, sessionJson } from "../../contract/session";
import { sessionHistory } from "../../db/session-mirror";
import { LIFETIME_WINDOW_MS, sessionStats } from "../../db/stats";
import { type UserRow, usersRepository } from "../../db/users";
import { type LogFields, log } from "../../shared/log";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { parseWith } from "../http/body";
import { failClosed } from "../http/fail-closed";
import { allowMethods } from "../http/methods";
import { ADMIN, NO_STORE, openApiRoutes, problems, queryParameters } from "../http/openapi";
import { email } from "../http/validation";
import { reconcileUser } from "../ops/reconcile";
import { adminPasskeyList } from "../passkeys/admin";
import { registryFor } from "../sessions/registry-client";
import { requireAdmin } from "./auth";
import { adminDataRoutes } from "./dashboard";
import { AdminPasskey, adminUserJson, Disabled, endedSessionJson, Reconciled, Stats, UserAnswer, UserSessions } from "./json";

export const adminRoutes = openApiRoutes<AppEnv>();
adminRoutes.use(requireAdmin);
// Admin answers describe accounts: never cached anywhere.
adminRoutes.use(async (c, next) => {
  await next();
  c.header("Cache-Control", "no-store");
});

const findQuery = z
  .object({
    email: email.optional().meta({ description: "The account's email, in any case" }),
    q: z
      .string()
      .trim()
      .min(1)
      .max(254)
      .optional()
      .meta({ description: "An email (in any case) or a user id (`usr_…`): what an operator pasted" }),
  })
  .superRefine((query, ctx) => {
    // Without `q`, exactly as before it existed: the email is required.
    if (query.email === undefined && query.q === undefined) ctx.addIssue({ code: "custom", message: "is required", path: ["email"] });
    if (query.email !== undefined && query.q !== undefined)
      ctx.addIssue({ code: "custom", message: "must not be given with `q`", path: ["q"] });
  });
const userPath = z.object({ id: z.string().meta({ description: "A user id (`usr_…`)", example: "usr_0123456789abcdefghijkl" }) });
const sessionPath = userPath.extend({
  sid: z.string().meta({ description: "A session id (`ses_…`)", example: "ses_0123456789abcdefghijkl" }),
});
const historyQuery = z.object({
  history: z.string().optional().meta({ description: "`true` adds the ended sessions D1 remembers; any other value is ignored" }),
});

const answer = <S extends z.ZodType>(description: string, schema: S) => ({
  description,
  headers: { "Cache-Control": NO_STORE },
  content: { "application/json": { schema } },
});
/** Every admin operation: the credential, and a user (or session) that may not exist. */
const ADMIN_REFUSALS = ["admin_unauthorized", "not_found", "service_unavailable"] as const;
const common = { tags: ["admin"], security: ADMIN };

const findUser = createRoute({
  ...common,
  method: "get",
  path: "/users",
  operationId: "adminFindUser",
  summary: "Find a user by email, or by email or id (`q`)",
  parameters: queryParameters(findQuery),
  responses: { 200: answer("The user", UserAnswer), ...problems("validation_failed", ...ADMIN_REFUSALS) },
});

adminRoutes.openapi(findUser, async (c) => {
  const query = parseWith(findQuery, { email: c.req.query("email"), q: c.req.query("q") });
  const users = usersRepository(c.env.DB);
  const user = await failClosed("database", () => {
    if (query.email !== undefined) return users.findByEmail(query.email);
    const q = query.q!;
    // A user id is case-sensitive; an email is stored lower-cased. One lookup either way.
    return USER_ID.test(q) ? users.findById(q) : users.findByEmail(q.toLowerCase());
  });
  if (!user) throw new ApiError("not_found");
  return c.json({ user: adminUserJson(user) }, 200);
});

const getUser = createRoute({
  ...common,
  method: "get",
  path: "/users/{id}",
  operationId: "adminGetUser",
  summary: "A user",
  request: { params: userPath },
  responses: { 200: answer("The user", UserAnswer), ...problems(...ADMIN_REFUSALS) },
});

adminRoutes.openapi(getUser, async (c) => c.json({ user: adminUserJson(await existingUser(c)) }, 200));

const listUserSessions = createRoute({
  ...common,
  method: "get",
  path: "/users/{id}/sessions",
  operationId: "adminListSessions",
  summary: "A user's live sessions, and on request the ended ones",
  request: { params: userPath },
  parameters: queryParameters(historyQuery),
  responses: { 200: answer("The sessions", UserSessions), ...problems(...ADMIN_REFUSALS, "registry_unavailable") },
});

/** Live sessions from the registry (the authority); `?history=true` adds ended ones from D1. */
adminRoutes.openapi(listUserSessions, async (c) => {
  const user = await existingUser(c);
  const { sessions } = await failClosed("registry", () => registryFor(c.env, user.id).trustedList());
  const body: z.output<typeof UserSessions> = { sessions: sessions.map((session) => sessionJson(session, null)) };
  if (c.req.query("history") === "true") {
    const rows = await failClosed("database", () => sessionHistory(c.env.DB, user.id, Date.now()));
    body.history = rows.map(endedSessionJson);
  }
  return c.json(body, 200);
});

const revokeUserSession = createRoute({
  ...common,
  method: "delete",
  path: "/users/{id}/sessions/{sid}",
  operationId: "adminRevokeSession",
  summary: "Sign one of a user's sessions out at once",
  request: { params: sessionPath },
  responses: {
    204: { description: "The session is ended", headers: { "Cache-Control": NO_STORE } },
    ...problems(...ADMIN_REFUSALS, "payload_too_large", "registry_unavailable"),
  },
});

adminRoutes.openapi(revokeUserSession, async (c) => {
  const user = await existingUser(c);
  const sessionId = c.req.param("sid");
  if (!SESSION_ID.test(sessionId)) throw new ApiError("not_found");
  const { revoked } = await failClosed("registry", () => registryFor(c.env, user.id).trustedRevoke(sessionId, "admin"));
  if (!revoked) throw new ApiError("not_found");
  audit("session revoked by an admin", user, { session_id: sessionId, revoked });
  return c.body(null, 204);
});

const revokeAllUserSessions = createRoute({
  ...common,
  method: "post",
  path: "/users/{id}/sessions/revoke-all",
  operationId: "adminRevokeAllSessions",
  summary: "Sign every session of a user out at once",
  request: { params: userPath },
  responses: {
    200: answer("How many sessions ended", z.object({ revoked: z.number().int().nonnegative() }).strict()),
    ...problems(...ADMIN_REFUSALS, "payload_too_large", "registry_unavailable"),
  },
});

adminRoutes.openapi(revokeAllUserSessions, async (c) => {
  const user = await existingUser(c);
  const { revoked } = await failClosed("registry", () => registryFor(c.env, user.id).trustedRevokeAll("admin"));
  audit("all sessions revoked by an admin", user, { revoked });
  return c.json({ revoked }, 200);
});

const disableUser = createRoute({
  ...common,
  method: "post",
  path: "/users/{id}/disable",
  operationId: "adminDisableUser",
  summary: "Disable an account: every session ends, sign-in is refused",
  request: { params: userPath },
  responses: { 200: answer("The disabled user", Disabled), ...problems(...ADMIN_REFUSALS, "payload_too_large", "registry_unavailable") },
});

/**
 * The registry first: once it has answered, every device is out and no new session can start,
 * whatever D1 says. Then D1, so login refuses before any password work is wasted on a session.
 * If the D1 write fails the call answers 503 and can simply be repeated.
 */
adminRoutes.openapi(disableUser, async (c) => {
  const user = await existingUser(c);
  const { revoked } = await failClosed("registry", () => registryFor(c.env, user.id).adminDisable());
  const at = user.disabledAt ?? Date.now();
  await failClosed("database", () => usersRepository(c.env.DB).setDisabled(user.id, at));
  audit("account disabled by an admin", user, { revoked });
  return c.json({ user: adminUserJson({ ...user, disabledAt: at }), revoked }, 200);
});

const enableUser = createRoute({
  ...common,
  method: "post",
  path: "/users/{id}/enable",
  operationId: "adminEnableUser",
  summary: "Enable a disabled account",
  request: { params: userPath },
  responses: { 200: answer("The enabled user", UserAnswer), ...problems(...ADMIN_REFUSALS, "payload_too_large", "registry_unavailable") },
});

/** D1 first, then the registry: until both agree, sign-in stays refused (the safe side). */
adminRoutes.openapi(enableUser, async (c) => {
  const user = await existingUser(c);
  await failClosed("database", () => usersRepository(c.env.DB).setDisabled(user.id, null));
  await failClosed("registry", () => registryFor(c.env, user.id).adminEnable());
  audit("account enabled by an admin", user);
  return c.json({ user: adminUserJson({ ...user, disabledAt: null }) }, 200);
});

const reconcile = createRoute({
  ...common,
  method: "post",
  path: "/users/{id}/reconcile",
  operationId: "adminReconcileUser",
  summary: "Repair a user's D1 mirror from the registry",
  request: { params: userPath },
  responses: { 200: answer("What was repaired", Reconciled), ...problems(...ADMIN_REFUSALS, "payload_too_large", "registry_unavailable") },
});

/** Consistency repair on demand: see ops/reconcile.ts. */
adminRoutes.openapi(reconcile, async (c) => {
  const user = await existingUser(c);
  const result = await reconcileUser(c.env, user.id);
  audit("mirror reconciled by an admin", user, {
    mirrored: result.mirrored,
    live_sessions: result.liveSessions,
    stale_rows_closed: result.staleRowsClosed,
  });
  return c.json({ mirrored: result.mirrored, live_sessions: result.liveSessions, stale_rows_closed: result.staleRowsClosed }, 200);
});

const listUserPasskeys = createRoute({
  ...common,
  method: "get",
  path: "/users/{id}/passkeys",
  operationId: "adminListPasskeys",
  summary: "A user's passkeys: what they are and when used, never a key",
  request: { params: userPath },
  responses: {
    200: answer("The passkeys", z.object({ passkeys: z.array(AdminPasskey) }).strict()),
    ...problems(...ADMIN_REFUSALS),
  },
});

/** The account's passkeys as the D1 mirror holds them (the registry alone holds their public keys). */
adminRoutes.openapi(listUserPasskeys, async (c) => {
  const user = await existingUser(c);
  return c.json({ passkeys: await failClosed("database", () => adminPasskeyList(c.env.DB, user.id)) }, 200);
});

const stats = createRoute({
  ...common,
  method: "get",
  path: "/stats",
  operationId: "adminStats",
  summary: "Session counts over the D1 mirror",
  responses: { 200: answer("The counts", Stats), ...problems("admin_unauthorized", "not_found", "service_unavailable") },
});

adminRoutes.openapi(stats, async (c) => {
  const now = Date.now();
  const stats = await failClosed("database", () => sessionStats(c.env.DB, now));
  return c.json(
    {
      generated_at: iso(now),
      live_sessions: stats.liveSessions,
      live_sessions_by_device_type: stats.liveByDeviceType,
      live_sessions_by_country: stats.liveByCountry,
      last_day: { sign_ins: stats.signInsLastDay, refresh_token_reuse_detections: stats.reuseDetectionsLastDay },
      session_lifetimes: { ended_within_days: LIFETIME_WINDOW_MS / 86_400_000, buckets: stats.lifetimes },
    },
    200,
  );
});

// The dashboard's data, behind this API's bearer guard (the /admin page mounts the same handlers behind its cookie).
adminRoutes.route("/", adminDataRoutes);

allowMethods(adminRoutes, "/users", ["GET"]);
allowMethods(adminRoutes, "/users/:id", ["GET"]);
allowMethods(adminRoutes, "/users/:id/sessions", ["GET"]);
allowMethods(adminRoutes, "/users/:id/sessions/revoke-all", ["POST"]);
allowMethods(adminRoutes, "/users/:id/sessions/:sid", ["DELETE"]);
allowMethods(adminRoutes, "/users/:id/passkeys", ["GET"]);
for (const action of ["disable", "enable", "reconcile"]) allowMethods(adminRoutes, `/users/:id/${action}`, ["POST"]);
allowMethods(adminRoutes, "/stats", ["GET"]);

/**
 * The audit line of an admin action, naming the account it acted on (the request line cannot: it
 * names the caller, and an admin is no user). Ids and counts only, never the email.
 */
function audit(msg: string, target: UserRow, fields: LogFields = {}): void {
  log("info", msg, { actor: "admin", target_user_id: target.id, ...fields });
}

async function existingUser(c: Context<AppEnv>): Promise<UserRow> {
  const id = c.req.param("id") ?? "";
  const user = USER_ID.test(id) ? await failClosed("database", () => usersRepository(c.env.DB).findById(id)) : undefined;
  if (!user) throw new ApiError("not_found");
  return user;
}
