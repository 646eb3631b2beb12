import { Hono } from "hono";
import { refreshSession } from "../auth/refresh";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { readFormFields } from "../http/body";
import { allowMethods } from "../http/methods";

export const tokenRoutes = new Hono<AppEnv>();

/**
 * RFC 6749 §6, the refresh grant, for public clients (`token_endpoint_auth_method` "none": no
 * client authentication; a `client_id` may come along and means nothing here). The refresh itself
 * is `/v1/auth/refresh`'s, one implementation (rotation, grace, reuse detection, the per-session
 * limit, risk checks, DPoP binding), only answered in OAuth's words: a refused token is
 * `invalid_grant`, a refused proof 400 `invalid_dpop_proof` (RFC 9449 §5).
 */
tokenRoutes.post("/token", async (c) => {
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
  return c.json({
    access_token: refreshed.accessToken,
    token_type: refreshed.tokenType,
    expires_in: refreshed.expiresIn,
    refresh_token: refreshed.refreshToken,
  });
});
allowMethods(tokenRoutes, "/token", ["POST"]);
