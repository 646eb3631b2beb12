import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { refreshSession } from "../auth/refresh";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { readFormFields } from "../http/body";
import { allowMethods } from "../http/methods";
import { DPOP_PROOF_HEADER, formRequest, NO_STORE, oauthErrors, openApiRoutes, PUBLIC } from "../http/openapi";

export const tokenRoutes = openApiRoutes<AppEnv>();

const tokenForm = z.object({
  grant_type: z.literal("refresh_token").meta({ description: "Only the refresh grant (RFC 6749 §6)" }),
  refresh_token: z.string().meta({ description: "The session's current refresh token" }),
  client_id: z.string().optional().meta({ description: "Accepted and ignored: public clients only" }),
});

const TokenResponse = z
  .object({
    access_token: z.string(),
    token_type: z.enum(["Bearer", "DPoP"]).meta({ description: '"DPoP" for a session bound to a DPoP key (RFC 9449 §5)' }),
    expires_in: z.number().int().positive(),
    refresh_token: z.string().meta({ description: "The rotated refresh token: the one presented is now the previous one" }),
  })
  .strict()
  .meta({ id: "OAuthTokenResponse", description: "RFC 6749 §5.1" });

const token = createRoute({
  method: "post",
  path: "/token",
  operationId: "oauthToken",
  summary: "The refresh grant for public clients (RFC 6749 §6), with DPoP (RFC 9449)",
  description:
    "Rotation, grace window, reuse detection, limits and risk checks are those of `POST /v1/auth/refresh` (one implementation). A DPoP-bound session's refresh needs a proof by its key.",
  tags: ["oauth"],
  security: PUBLIC,
  request: { body: formRequest(tokenForm), headers: DPOP_PROOF_HEADER },
  responses: {
    200: {
      description: "New tokens for the session",
      headers: { "Cache-Control": NO_STORE, Pragma: { description: "`no-cache`", required: true, schema: { type: "string" } } },
      content: { "application/json": { schema: TokenResponse } },
    },
    ...oauthErrors(
      "validation_failed",
      "invalid_request",
      "invalid_client",
      "unsupported_grant_type",
      "invalid_refresh_token",
      ["invalid_dpop_proof", 400],
      ["use_dpop_nonce", 400],
      "payload_too_large",
      "rate_limited",
      "registry_unavailable",
      "service_unavailable",
    ),
  },
});

/**
 * RFC 6749 §6, the refresh grant, for public clients (`token_endpoint_auth_method` "none": no
 * client authentication; a `client_id` may come along and means nothing here). The refresh itself
 * is `/v1/auth/refresh`'s, one implementation (rotation, grace, reuse detection, the per-session
 * limit, risk checks, DPoP binding), only answered in OAuth's words: a refused token is
 * `invalid_grant`, a refused proof 400 `invalid_dpop_proof` (RFC 9449 §5).
 */
tokenRoutes.openapi(token, async (c) => {
  const form = await readFormFields(c);
  // Only public clients: credentials offered here would be checked by nobody, so they are refused.
  if (form.client_secret !== undefined || c.req.header("Authorization") !== undefined)
    throw new ApiError("invalid_client", { detail: "This endpoint serves public clients only: send no client credentials" });
  if (form.grant_type === undefined) throw new ApiError("invalid_request", { detail: "grant_type is required" });
  if (form.grant_type !== "refresh_token")
    throw new ApiError("unsupported_grant_type", { detail: "Only grant_type=refresh_token is supported" });
  if (!form.refresh_token) throw new ApiError("invalid_request", { detail: "refresh_token is required" });
  const refreshed = await refreshSession(c, form.refresh_token, "oauth_token", 400);
  c.header("Pragma", "no-cache");
  return c.json(
    {
      access_token: refreshed.accessToken,
      token_type: refreshed.tokenType,
      expires_in: refreshed.expiresIn,
      refresh_token: refreshed.refreshToken,
    },
    200,
  );
});
allowMethods(tokenRoutes, "/token", ["POST"]);
