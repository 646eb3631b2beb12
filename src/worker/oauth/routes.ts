import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { log } from "../../shared/log";
import { genuineRefreshToken } from "../../shared/refresh-token";
import type { AppEnv } from "../env";
import { unavailable } from "../errors";
import { parseWith, readFormFields } from "../http/body";
import { failClosed } from "../http/fail-closed";
import { allowMethods } from "../http/methods";
import { formRequest, NO_STORE, OAUTH_CLIENT, oauthErrors, openApiRoutes } from "../http/openapi";
import { registryFor } from "../sessions/registry-client";
import { checkAccessToken, verifyAccessToken } from "../tokens/check";
import { authenticateClient } from "./client-auth";

/**
 * OAuth endpoints for backends that cannot hold a service binding. `token_type_hint` is accepted
 * and not needed: refresh tokens and JWTs have disjoint shapes, so each token is recognised as what it is.
 * The form is read first (it may hold client_secret_post credentials), the client is authenticated,
 * and only then is the token parameter validated.
 */
export const oauthRoutes = openApiRoutes<AppEnv>();

const tokenRequest = z.object({
  token: z.string().min(1, "is required").max(4096),
  token_type_hint: z.string().max(64).optional(),
});

/** The form as documented: the token, and the client_secret_post credentials that client-auth.ts reads. */
const tokenForm = formRequest(
  tokenRequest.extend({
    client_id: z.string().optional().meta({ description: "`client_secret_post`: the client's id (or, beside Basic, the same id)" }),
    client_secret: z
      .string()
      .optional()
      .meta({ description: "`client_secret_post`: the client's secret; never beside an Authorization header" }),
  }),
);
const OAUTH_REFUSALS = [
  "validation_failed",
  "invalid_request",
  "invalid_client",
  "payload_too_large",
  "rate_limited",
  "registry_unavailable",
  "service_unavailable",
] as const;

const Introspection = z
  .discriminatedUnion("active", [
    z.object({ active: z.literal(false) }).strict(),
    z
      .object({
        active: z.literal(true),
        sub: z.string().meta({ description: "The user id" }),
        sid: z.string().meta({ description: "The session id" }),
        exp: z.number().int(),
        iat: z.number().int(),
        iss: z.string(),
        aud: z.union([z.string(), z.array(z.string())]),
        jti: z.string(),
        token_type: z.enum(["Bearer", "DPoP"]),
        cnf: z
          .object({ jkt: z.string() })
          .strict()
          .optional()
          .meta({ description: "RFC 9449 §6.2: the thumbprint of the key a DPoP-bound token is bound to" }),
      })
      .strict(),
  ])
  .meta({ id: "Introspection", description: "RFC 7662 §2.2: an inactive token says nothing more, whatever the reason" });

const introspect = createRoute({
  method: "post",
  path: "/introspect",
  operationId: "introspectToken",
  summary: "Whether an access token is active now (RFC 7662)",
  description: "Active means a good signature and claims and a live session: a revoked session's token is inactive at once.",
  tags: ["oauth"],
  security: OAUTH_CLIENT,
  request: { body: tokenForm },
  responses: {
    200: {
      description: "The token's state",
      headers: { "Cache-Control": NO_STORE },
      content: { "application/json": { schema: Introspection } },
    },
    ...oauthErrors(...OAUTH_REFUSALS),
  },
});

const revoke = createRoute({
  method: "post",
  path: "/revoke",
  operationId: "revokeToken",
  summary: "End the session of a refresh or access token (RFC 7009)",
  description: "200 whatever the token was (RFC 7009 §2.2), so a caller learns nothing about it.",
  tags: ["oauth"],
  security: OAUTH_CLIENT,
  request: { body: tokenForm },
  responses: {
    200: { description: "Done, or nothing to do", headers: { "Cache-Control": NO_STORE } },
    ...oauthErrors(...OAUTH_REFUSALS),
  },
});

/** RFC 7662: whether an access token is active now: signature, claims, and its session live in the registry. */
oauthRoutes.openapi(introspect, async (c) => {
  const form = await readFormFields(c);
  const clientId = await authenticateClient(c, form);
  const { token } = parseWith(tokenRequest, form);
  // RFC 9449 §6.2: the resource server checks the proof against the `cnf` answered here.
  const status = await checkAccessToken(c.env, token, "by-caller");
  c.header("Cache-Control", "no-store");
  if (!status.ok && (status.code === "registry_unavailable" || status.code === "service_unavailable")) throw unavailable(status.code);
  audit("token introspected", { clientId, active: status.ok });
  // RFC 7662 §2.2: an inactive token says nothing more, whatever the reason (unknown, expired, revoked).
  if (!status.ok) return c.json({ active: false as const }, 200);
  const { sub, sid, exp, iat, iss, aud, jti, cnf } = status.claims;
  const token_type = cnf ? ("DPoP" as const) : ("Bearer" as const);
  return c.json({ active: true as const, sub, sid, exp, iat, iss, aud, jti, token_type, ...(cnf ? { cnf } : {}) }, 200);
});

/**
 * RFC 7009: ends the session of a refresh token, or of an access token (revocation is keyed on the
 * session, never on the token string). 200 whatever the token was (§2.2), so a caller learns nothing.
 */
oauthRoutes.openapi(revoke, async (c) => {
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
