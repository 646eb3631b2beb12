import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { SESSION_ID } from "../../contract/ids";
import type { Actor, NotFound, Refused } from "../../contract/registry";
import { sessionJson } from "../../contract/session";
import { Session } from "../../contract/wire-schema";
import { usersRepository } from "../../db/users";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { readJson } from "../http/body";
import { failClosed } from "../http/fail-closed";
import { allowMethods } from "../http/methods";
import { ACCESS_TOKEN, ACCESS_TOKEN_REFUSALS, jsonRequest, openApiRoutes, problems } from "../http/openapi";
import { displayText } from "../http/validation";
import { requireAccessToken } from "./guard";
import { Me, userJson } from "./json";
import { registryFor } from "./registry-client";

const renameBody = z.object({ name: displayText(64).meta({ description: "The device's new name", example: "Work laptop" }) });
const sessionIdParam = z.object({
  id: z.string().meta({
    description: "A session id (`ses_…`); an id that is not one of the caller's live sessions is 404",
    example: "ses_0123456789abcdefghijkl",
  }),
});

export const meRoutes = openApiRoutes<AppEnv>();

const getMe = createRoute({
  method: "get",
  path: "/",
  operationId: "getMe",
  summary: "The caller's user and session",
  tags: ["sessions"],
  security: ACCESS_TOKEN,
  middleware: [requireAccessToken],
  responses: {
    200: { description: "The caller's user and current session", content: { "application/json": { schema: Me } } },
    ...problems(...ACCESS_TOKEN_REFUSALS, "registry_unavailable", "service_unavailable"),
  },
});

meRoutes.openapi(getMe, async (c) => {
  const { userId, sessionId, actor } = c.var.caller;
  const [session, user] = await Promise.all([
    failClosed("registry", () => registryFor(c.env, userId).sessionGet(actor)),
    failClosed("database", () => usersRepository(c.env.DB).findById(userId)),
  ]);
  if (!session.ok) throw new ApiError(session.code);
  if (!user) throw new ApiError("invalid_token");
  return c.json({ user: userJson(user), session: sessionJson(session.session, sessionId) }, 200);
});
allowMethods(meRoutes, "/", ["GET"]);

export const sessionRoutes = openApiRoutes<AppEnv>();

const listSessions = createRoute({
  method: "get",
  path: "/",
  operationId: "listSessions",
  summary: "The user's live sessions, most recently active first",
  tags: ["sessions"],
  security: ACCESS_TOKEN,
  middleware: [requireAccessToken],
  responses: {
    200: {
      description: "Every live session of the user; the caller's has `current: true`",
      content: { "application/json": { schema: z.object({ sessions: z.array(Session) }).strict() } },
    },
    ...problems(...ACCESS_TOKEN_REFUSALS, "registry_unavailable", "service_unavailable"),
  },
});

sessionRoutes.openapi(listSessions, async (c) => {
  const { userId, sessionId, actor } = c.var.caller;
  const result = await failClosed("registry", () => registryFor(c.env, userId).sessionList(actor));
  if (!result.ok) throw new ApiError(result.code);
  return c.json({ sessions: result.sessions.map((session) => sessionJson(session, sessionId)) }, 200);
});

/**
 * An id that cannot be a session id is not one of the caller's sessions (404), once the caller is
 * known to be live: a revoked caller learns nothing, whatever it asks for.
 */
async function notASession(env: Env, userId: string, actor: Actor): Promise<NotFound | Refused> {
  const live = await failClosed("registry", () => registryFor(env, userId).sessionCheck(actor));
  return live.ok ? { ok: false, code: "not_found" } : live;
}

const revokeSession = createRoute({
  method: "delete",
  path: "/{id}",
  operationId: "revokeSession",
  summary: "Sign a device out at once (the caller's own session too)",
  tags: ["sessions"],
  security: ACCESS_TOKEN,
  middleware: [requireAccessToken],
  request: { params: sessionIdParam },
  responses: {
    204: { description: "The session is ended: its access and refresh tokens are refused from now on" },
    ...problems(...ACCESS_TOKEN_REFUSALS, "not_found", "payload_too_large", "registry_unavailable", "service_unavailable"),
  },
});

sessionRoutes.openapi(revokeSession, async (c) => {
  const { userId, actor } = c.var.caller;
  const target = c.req.param("id");
  const result = SESSION_ID.test(target)
    ? await failClosed("registry", () => registryFor(c.env, userId).sessionRevoke(actor, target))
    : await notASession(c.env, userId, actor);
  if (!result.ok) throw new ApiError(result.code);
  return c.body(null, 204);
});

const renameSession = createRoute({
  method: "patch",
  path: "/{id}",
  operationId: "renameSession",
  summary: "Rename one of the user's sessions (its device name)",
  tags: ["sessions"],
  security: ACCESS_TOKEN,
  middleware: [requireAccessToken],
  request: { params: sessionIdParam, body: jsonRequest(renameBody) },
  responses: {
    200: { description: "The renamed session", content: { "application/json": { schema: Session } } },
    ...problems(
      "validation_failed",
      "payload_too_large",
      ...ACCESS_TOKEN_REFUSALS,
      "not_found",
      "registry_unavailable",
      "service_unavailable",
    ),
  },
});

sessionRoutes.openapi(renameSession, async (c) => {
  const { userId, sessionId, actor } = c.var.caller;
  const { name } = await readJson(c, renameBody);
  const target = c.req.param("id");
  const result = SESSION_ID.test(target)
    ? await failClosed("registry", () => registryFor(c.env, userId).sessionRename(actor, target, name))
    : await notASession(c.env, userId, actor);
  if (!result.ok) throw new ApiError(result.code);
  return c.json(sessionJson(result.session, sessionId), 200);
});

allowMethods(sessionRoutes, "/", ["GET"]);
allowMethods(sessionRoutes, "/:id", ["PATCH", "DELETE"]);
