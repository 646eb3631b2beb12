import { createMiddleware } from "hono/factory";
import { bearerToken } from "../../../consumer/token-format";
import type { AppEnv, Caller } from "../env";
import { ApiError } from "../errors";
import { verifyAccessToken } from "../tokens/check";

/**
 * Reads the bearer token (with the consumer's parser, so both read a header alike) and checks
 * signature and claims. Liveness is the registry's to confirm.
 */
export async function verifiedCaller(
  env: Env,
  authorization: string | undefined,
  options: { acceptExpired?: boolean } = {},
): Promise<Caller> {
  const token = bearerToken(authorization);
  if (!token) throw new ApiError("invalid_token");
  const result = await verifyAccessToken(env, token, options);
  if (!result.ok) throw new ApiError("invalid_token");
  return { userId: result.claims.sub, sessionId: result.claims.sid, claims: result.claims };
}

/**
 * The access-token guard of every protected route: signature and claims here; the route's one
 * registry call then confirms the session is live (every registry method acting for a session
 * refuses a session that is not), so each request costs a single Durable Object round trip.
 */
export const requireAccessToken = createMiddleware<AppEnv>(async (c, next) => {
  c.set("caller", await verifiedCaller(c.env, c.req.header("Authorization")));
  await next();
});
