import { createMiddleware } from "hono/factory";
import { configFrom } from "../../shared/config";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";

/**
 * RFC 9470 §3: the token's authentication is too old for this action. The client proves who the
 * user is again (POST /v1/auth/reauthenticate, same session) and retries with the new token.
 * The header is the contract's, exactly; `max_age` is also in the problem body for clients that
 * do not parse challenges.
 */
export function stepUpRequired(maxAgeSeconds: number): ApiError {
  return new ApiError("step_up_required", {
    detail: `Confirm it is you again (POST /v1/auth/reauthenticate): this action needs a proof from the last ${maxAgeSeconds} seconds`,
    headers: { "WWW-Authenticate": `Bearer error="insufficient_user_authentication", max_age=${maxAgeSeconds}` },
    extra: { max_age: maxAgeSeconds },
  });
}

/** Whether the verified token's `auth_time` is within `maxAgeSeconds` of `nowMs`; a token without one never is. */
export function authenticatedWithin(authTime: number | undefined, maxAgeSeconds: number, nowMs = Date.now()): boolean {
  return authTime !== undefined && nowMs - authTime * 1000 <= maxAgeSeconds * 1000;
}

/**
 * The guard of an action that adds or removes a way into the account (today: registering or
 * removing a passkey). Runs after `requireAccessToken` and reads only the verified token, so it
 * costs no Durable Object call; the route's own registry call still confirms the session is live.
 * Signing devices out never uses it: ending a lost device's session must stay one step.
 */
export function requireRecentAuthentication(maxAgeSeconds?: number) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const maxAge = maxAgeSeconds ?? configFrom(c.env).stepUpMaxAgeSeconds;
    if (!authenticatedWithin(c.var.caller.claims.auth_time, maxAge)) throw stepUpRequired(maxAge);
    await next();
  });
}
