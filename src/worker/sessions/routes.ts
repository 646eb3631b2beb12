import { Hono } from "hono";
import { z } from "zod";
import { SESSION_ID } from "../../contract/ids";
import type { Actor, NotFound, Refused } from "../../contract/registry";
import { sessionJson } from "../../contract/session";
import { usersRepository } from "../../db/users";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { readJson } from "../http/body";
import { failClosed } from "../http/fail-closed";
import { allowMethods } from "../http/methods";
import { displayText } from "../http/validation";
import { requireAccessToken } from "./guard";
import { userJson } from "./json";
import { registryFor } from "./registry-client";

const renameBody = z.object({ name: displayText(64) });

export const meRoutes = new Hono<AppEnv>();

meRoutes.get("/", requireAccessToken, async (c) => {
  const { userId, sessionId, actor } = c.var.caller;
  const [session, user] = await Promise.all([
    failClosed("registry", () => registryFor(c.env, userId).sessionGet(actor)),
    failClosed("database", () => usersRepository(c.env.DB).findById(userId)),
  ]);
  if (!session.ok) throw new ApiError(session.code);
  if (!user) throw new ApiError("invalid_token");
  return c.json({ user: userJson(user), session: sessionJson(session.session, sessionId) });
});
allowMethods(meRoutes, "/", ["GET"]);

export const sessionRoutes = new Hono<AppEnv>();

sessionRoutes.get("/", requireAccessToken, async (c) => {
  const { userId, sessionId, actor } = c.var.caller;
  const result = await failClosed("registry", () => registryFor(c.env, userId).sessionList(actor));
  if (!result.ok) throw new ApiError(result.code);
  return c.json({ sessions: result.sessions.map((session) => sessionJson(session, sessionId)) });
});

/**
 * An id that cannot be a session id is not one of the caller's sessions (404), once the caller is
 * known to be live: a revoked caller learns nothing, whatever it asks for.
 */
async function notASession(env: Env, userId: string, actor: Actor): Promise<NotFound | Refused> {
  const live = await failClosed("registry", () => registryFor(env, userId).sessionCheck(actor));
  return live.ok ? { ok: false, code: "not_found" } : live;
}

sessionRoutes.delete("/:id", requireAccessToken, async (c) => {
  const { userId, actor } = c.var.caller;
  const target = c.req.param("id");
  const result = SESSION_ID.test(target)
    ? await failClosed("registry", () => registryFor(c.env, userId).sessionRevoke(actor, target))
    : await notASession(c.env, userId, actor);
  if (!result.ok) throw new ApiError(result.code);
  return c.body(null, 204);
});

sessionRoutes.patch("/:id", requireAccessToken, async (c) => {
  const { userId, sessionId, actor } = c.var.caller;
  const { name } = await readJson(c, renameBody);
  const target = c.req.param("id");
  const result = SESSION_ID.test(target)
    ? await failClosed("registry", () => registryFor(c.env, userId).sessionRename(actor, target, name))
    : await notASession(c.env, userId, actor);
  if (!result.ok) throw new ApiError(result.code);
  return c.json(sessionJson(result.session, sessionId));
});

allowMethods(sessionRoutes, "/", ["GET"]);
allowMethods(sessionRoutes, "/:id", ["PATCH", "DELETE"]);
