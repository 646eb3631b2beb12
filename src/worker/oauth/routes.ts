import { Hono } from "hono";
import { z } from "zod";
import { log } from "../../shared/log";
import { genuineRefreshToken } from "../../shared/refresh-token";
import type { AppEnv } from "../env";
import { unavailable } from "../errors";
import { parseWith, readFormFields } from "../http/body";
import { failClosed } from "../http/fail-closed";
import { allowMethods } from "../http/methods";
import { registryFor } from "../sessions/registry-client";
import { checkAccessToken, verifyAccessToken } from "../tokens/check";
import { authenticateClient } from "./client-auth";

/**
 * OAuth endpoints for backends that cannot hold a service binding. `token_type_hint` is accepted
 * and not needed: refresh tokens and JWTs have disjoint shapes, so each token is recognised as what it is.
 * The form is read first (it may hold client_secret_post credentials), the client is authenticated,
 * and only then is the token parameter validated.
 */
export const oauthRoutes = new Hono<AppEnv>();

const tokenRequest = z.object({
  token: z.string().min(1, "token is required").max(4096, "token is too long"),
  token_type_hint: z.string().max(64).optional(),
});

/** RFC 7662: whether an access token is active now: signature, claims, and its session live in the registry. */
oauthRoutes.post("/introspect", async (c) => {
  const form = await readFormFields(c);
  const clientId = await authenticateClient(c, form);
  const { token } = parseWith(tokenRequest, form);
  // RFC 9449 §6.2: the resource server checks the proof against the `cnf` answered here.
  const status = await checkAccessToken(c.env, token, "by-caller");
  c.header("Cache-Control", "no-store");
  if (!status.ok && (status.code === "registry_unavailable" || status.code === "service_unavailable")) throw unavailable(status.code);
  audit("token introspected", { clientId, active: status.ok });
  // RFC 7662 §2.2: an inactive token says nothing more, whatever the reason (unknown, expired, revoked).
  if (!status.ok) return c.json({ active: false });
  const { sub, sid, exp, iat, iss, aud, jti, cnf } = status.claims;
  return c.json({ active: true, sub, sid, exp, iat, iss, aud, jti, token_type: cnf ? "DPoP" : "Bearer", ...(cnf ? { cnf } : {}) });
});

/**
 * RFC 7009: ends the session of a refresh token, or of an access token (revocation is keyed on the
 * session, never on the token string). 200 whatever the token was (§2.2), so a caller learns nothing.
 */
oauthRoutes.post("/revoke", async (c) => {
  const form = await readFormFields(c);
  const clientId = await authenticateClient(c, form);
  const { token } = parseWith(tokenRequest, form);
  const kind = await revokeToken(c.env, token);
  audit("token revocation requested", { clientId, kind });
  c.header("Cache-Control", "no-store");
  return c.body(null, 200);
});

async function revokeToken(env: Env, token: string): Promise<"refresh_token" | "access_token" | "unknown"> {
  // The tag is checked before anything is routed by the token: a forged one wakes no registry.
  const refresh = await genuineRefreshToken(env, token);
  if (refresh) {
    await failClosed("registry", () => registryFor(env, refresh.userId).signOutByRefreshToken(token));
    return "refresh_token";
  }
  const access = await verifyAccessToken(env, token);
  if (!access.ok) return "unknown";
  await failClosed("registry", () => registryFor(env, access.claims.sub).sessionSignOut(access.claims.sid));
  return "access_token";
}

function audit(msg: string, fields: Record<string, string | boolean>): void {
  log("info", msg, fields);
}

allowMethods(oauthRoutes, "/introspect", ["POST"]);
allowMethods(oauthRoutes, "/revoke", ["POST"]);
