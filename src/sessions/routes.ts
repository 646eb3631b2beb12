import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { usersRepository } from "../db/users";
import { ApiError } from "../errors";
import { readJson } from "../http/body";
import { withDatabase } from "../http/database";
import { allowMethods } from "../http/methods";
import { displayText } from "../http/validation";
import { requireAccessToken } from "./guard";
import { callRegistry, registryFor } from "./registry-client";
import { sessionJson, userJson } from "./view";

const SESSION_ID = /^ses_[A-Za-z0-9_-]{22}$/;
const renameBody = z.object({ name: displayText(64) });

export const meRoutes = new Hono<AppEnv>();

meRoutes.get("/", requireAccessToken, async (c) => {
  const { userId, sessionId } = c.var.caller;
  const [session, user] = await Promise.all([
    callRegistry(() => registryFor(c.env, userId).getSession(sessionId)),
    withDatabase(() => usersRepository(c.env.DB).findById(userId)),
  ]);
  if (!session.ok || !user) throw new ApiError("invalid_token");
  return c.json({ user: userJson(user), session: sessionJson(session.session, sessionId) });
});
allowMethods(meRoutes, "/", ["GET"]);

export const sessionRoutes = new Hono<AppEnv>();

sessionRoutes.get("/", requireAccessToken, async (c) => {
  const { userId, sessionId } = c.var.caller;
  const result = await callRegistry(() => registryFor(c.env, userId).listSessions(sessionId));
  if (!result.ok) throw new ApiError("invalid_token");
  return c.json({ sessions: result.sessions.map((session) => sessionJson(session, sessionId)) });
});

sessionRoutes.delete("/:id", requireAccessToken, async (c) => {
  const { userId, sessionId } = c.var.caller;
  const target = c.req.param("id");
  const result = SESSION_ID.test(target)
    ? await callRegistry(() => registryFor(c.env, userId).revokeSession(sessionId, target))
    : await callRegistry(async () => ((await registryFor(c.env, userId).check(sessionId)) ? ({ ok: false, code: "not_found" } as const) : ({ ok: false, code: "invalid_token" } as const)));
  if (!result.ok) throw new ApiError(result.code);
  return c.body(null, 204);
});

sessionRoutes.patch("/:id", requireAccessToken, async (c) => {
  const { userId, sessionId } = c.var.caller;
  const { name } = await readJson(c, renameBody);
  const target = c.req.param("id");
  const registry = registryFor(c.env, userId);
  const result = SESSION_ID.test(target)
    ? await callRegistry(() => registry.renameSession(sessionId, target, name))
    : await callRegistry(async () => ((await registry.check(sessionId)) ? ({ ok: false, code: "not_found" } as const) : ({ ok: false, code: "invalid_token" } as const)));
  if (!result.ok) throw new ApiError(result.code);
  return c.json(sessionJson(result.session, sessionId));
});

allowMethods(sessionRoutes, "/", ["GET"]);
allowMethods(sessionRoutes, "/:id", ["PATCH", "DELETE"]);
