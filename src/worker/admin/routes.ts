import { type Context, Hono } from "hono";
import { z } from "zod";
import { SESSION_ID, USER_ID } from "../../contract/ids";
import { iso, sessionJson } from "../../contract/session";
import { sessionHistory } from "../../db/session-mirror";
import { LIFETIME_WINDOW_MS, sessionStats } from "../../db/stats";
import { type UserRow, usersRepository } from "../../db/users";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { failClosed } from "../http/fail-closed";
import { allowMethods } from "../http/methods";
import { email } from "../http/validation";
import { reconcileUser } from "../ops/reconcile";
import { adminPasskeyList } from "../passkeys/admin";
import { registryFor } from "../sessions/registry-client";
import { requireAdmin } from "./auth";

const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

export const adminRoutes = new Hono<AppEnv>();
adminRoutes.use(requireAdmin);
// Admin answers describe accounts: never cached anywhere.
adminRoutes.use(async (c, next) => {
  await next();
  c.header("Cache-Control", "no-store");
});

adminRoutes.get("/users", async (c) => {
  const query = z.object({ email }).safeParse({ email: c.req.query("email") });
  if (!query.success) throw new ApiError("validation_failed", { detail: "email: must be an email address" });
  const user = await failClosed("database", () => usersRepository(c.env.DB).findByEmail(query.data.email));
  if (!user) throw new ApiError("not_found");
  return c.json({ user: adminUserJson(user) });
});

adminRoutes.get("/users/:id", async (c) => c.json({ user: adminUserJson(await existingUser(c)) }));

/** Live sessions from the registry (the authority); `?history=true` adds ended ones from D1. */
adminRoutes.get("/users/:id/sessions", async (c) => {
  const user = await existingUser(c);
  const { sessions } = await failClosed("registry", () => registryFor(c.env, user.id).trustedList());
  const body: Record<string, unknown> = { sessions: sessions.map((session) => sessionJson(session, null)) };
  if (c.req.query("history") === "true") {
    const rows = await failClosed("database", () => sessionHistory(c.env.DB, user.id, Date.now()));
    body.history = rows.map((row) => ({
      id: row.id,
      device: { name: row.device_name, browser: row.browser, os: row.os, type: row.device_type },
      ip: row.ip,
      country: row.country,
      created_at: isoOrNull(row.created_at),
      last_active_at: isoOrNull(row.last_active_at),
      expires_at: isoOrNull(row.expires_at),
      revoked_at: isoOrNull(row.revoked_at),
      revoked_reason: row.revoked_reason,
    }));
  }
  return c.json(body);
});

adminRoutes.delete("/users/:id/sessions/:sid", async (c) => {
  const user = await existingUser(c);
  const sessionId = c.req.param("sid");
  if (!SESSION_ID.test(sessionId)) throw new ApiError("not_found");
  const { revoked } = await failClosed("registry", () => registryFor(c.env, user.id).trustedRevoke(sessionId, "admin"));
  if (!revoked) throw new ApiError("not_found");
  return c.body(null, 204);
});

adminRoutes.post("/users/:id/sessions/revoke-all", async (c) => {
  const user = await existingUser(c);
  const { revoked } = await failClosed("registry", () => registryFor(c.env, user.id).trustedRevokeAll("admin"));
  return c.json({ revoked });
});

/**
 * The registry first: once it has answered, every device is out and no new session can start,
 * whatever D1 says. Then D1, so login refuses before any password work is wasted on a session.
 * If the D1 write fails the call answers 503 and can simply be repeated.
 */
adminRoutes.post("/users/:id/disable", async (c) => {
  const user = await existingUser(c);
  const { revoked } = await failClosed("registry", () => registryFor(c.env, user.id).adminDisable());
  const at = user.disabledAt ?? Date.now();
  await failClosed("database", () => usersRepository(c.env.DB).setDisabled(user.id, at));
  return c.json({ user: adminUserJson({ ...user, disabledAt: at }), revoked });
});

/** D1 first, then the registry: until both agree, sign-in stays refused (the safe side). */
adminRoutes.post("/users/:id/enable", async (c) => {
  const user = await existingUser(c);
  await failClosed("database", () => usersRepository(c.env.DB).setDisabled(user.id, null));
  await failClosed("registry", () => registryFor(c.env, user.id).adminEnable());
  return c.json({ user: adminUserJson({ ...user, disabledAt: null }) });
});

/** Consistency repair on demand: see ops/reconcile.ts. */
adminRoutes.post("/users/:id/reconcile", async (c) => {
  const user = await existingUser(c);
  const result = await reconcileUser(c.env, user.id);
  return c.json({ mirrored: result.mirrored, live_sessions: result.liveSessions, stale_rows_closed: result.staleRowsClosed });
});

/** The account's passkeys as the D1 mirror holds them (the registry alone holds their public keys). */
adminRoutes.get("/users/:id/passkeys", async (c) => {
  const user = await existingUser(c);
  return c.json({ passkeys: await failClosed("database", () => adminPasskeyList(c.env.DB, user.id)) });
});

adminRoutes.get("/stats", async (c) => {
  const now = Date.now();
  const stats = await failClosed("database", () => sessionStats(c.env.DB, now));
  return c.json({
    generated_at: iso(now),
    live_sessions: stats.liveSessions,
    live_sessions_by_device_type: stats.liveByDeviceType,
    live_sessions_by_country: stats.liveByCountry,
    last_day: { sign_ins: stats.signInsLastDay, refresh_token_reuse_detections: stats.reuseDetectionsLastDay },
    session_lifetimes: { ended_within_days: LIFETIME_WINDOW_MS / 86_400_000, buckets: stats.lifetimes },
  });
});

allowMethods(adminRoutes, "/users", ["GET"]);
allowMethods(adminRoutes, "/users/:id", ["GET"]);
allowMethods(adminRoutes, "/users/:id/sessions", ["GET"]);
allowMethods(adminRoutes, "/users/:id/sessions/revoke-all", ["POST"]);
allowMethods(adminRoutes, "/users/:id/sessions/:sid", ["DELETE"]);
allowMethods(adminRoutes, "/users/:id/passkeys", ["GET"]);
for (const action of ["disable", "enable", "reconcile"]) allowMethods(adminRoutes, `/users/:id/${action}`, ["POST"]);
allowMethods(adminRoutes, "/stats", ["GET"]);

async function existingUser(c: Context<AppEnv>): Promise<UserRow> {
  const id = c.req.param("id") ?? "";
  const user = USER_ID.test(id) ? await failClosed("database", () => usersRepository(c.env.DB).findById(id)) : undefined;
  if (!user) throw new ApiError("not_found");
  return user;
}

function adminUserJson(user: UserRow) {
  return {
    id: user.id,
    email: user.email,
    created_at: isoOrNull(user.createdAt),
    password_changed_at: isoOrNull(user.passwordChangedAt),
    disabled_at: isoOrNull(user.disabledAt),
  };
}
