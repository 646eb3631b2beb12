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
import { adminUserJson, Disabled, endedSessionJson, Reconciled, Stats, UserAnswer, UserSessions } from "./json";

export const adminRoutes = openApiRoutes<AppEnv>();
adminRoutes.use(requireAdmin);
// Admin answers describe accounts: never cached anywhere.
adminRoutes.use(async (c, next) => {
  await next();
  c.header("Cache-Control", "no-store");
});

const byEmail = z.object({ email: email.meta({ description: "The account's email, in any case" }) });
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
  summary: "Find a user by email",
  parameters: queryParameters(byEmail),
  responses: { 200: answer("The user", UserAnswer), ...problems("validation_failed", ...ADMIN_REFUSALS) },
});

adminRoutes.openapi(findUser, async (c) => {
  const query = parseWith(byEmail, { email: c.req.query("email") });
  const user = await failClosed("database", () => usersRepository(c.env.DB).findByEmail(query.email));
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
 * One call: the registry disables, ends every session and records it in one transaction, and
 * writes `disabled_at` to D1 through its outbox (retried from its alarm), so a crash at any point
 * leaves the account disabled with D1 catching up, or untouched. A repeated call changes nothing.
 */
adminRoutes.openapi(disableUser, async (c) => {
  const user = await existingUser(c);
  const { revoked, disabledAt } = await failClosed("registry", () => registryFor(c.env, user.id).adminDisable(user.id));
  audit("account disabled by an admin", user, { revoked });
  return c.json({ user: adminUserJson({ ...user, disabledAt }), revoked }, 200);
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

/** Likewise: until D1 has the registry's flag, login keeps refusing (the safe side). */
adminRoutes.openapi(enableUser, async (c) => {
  const user = await existingUser(c);
  const { disabledAt } = await failClosed("registry", () => registryFor(c.env, user.id).adminEnable(user.id));
  audit("account enabled by an admin", user);
  return c.json({ user: adminUserJson({ ...user, disabledAt }) }, 200);
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
  return c.json({ mirrored: result.mirrored, live_sessions: result.liveSessions, stale_rows_closed: result.staleRowsClosed }, 200);
});

const AdminPasskey = z
  .object({
    id: z.string(),
    name: z.string(),
    created_at: z.iso.datetime(),
    last_used_at: z.iso.datetime().nullable(),
    backup_eligible: z.boolean(),
    backed_up: z.boolean(),
    transports: z.array(z.string()),
    aaguid: z.string().meta({ description: "The authenticator model's AAGUID, as it reported it (attestation is not verified)" }),
  })
  .strict()
  .meta({ id: "AdminPasskey" });

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
