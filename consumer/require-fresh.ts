import type { MiddlewareHandler } from "hono";
import type { SessionVariables } from "./require-session.js";
import { insufficientUserAuthentication } from "./responses.js";

export interface RequireFreshOptions {
  /** How long ago the user may have last proved who they are (the token's `auth_time`), in seconds. */
  maxAgeSeconds: number;
  /**
   * RFC 8176 values, any one of which the token's `amr` must hold: `["hwk", "swk"]` asks for a
   * passkey, `["hwk"]` for a device-bound one. Omitted: any method.
   */
  amr?: readonly string[];
  /** Injectable clock (milliseconds), for tests; defaults to `Date.now`. */
  now?: () => number;
}

/**
 * Hono middleware for an action that needs a recent proof of who the user is (RFC 9470). Put it
 * after `requireSession`: it reads the verified token's `auth_time` and `amr`, and answers 401
 * `step_up_required` with `WWW-Authenticate: Bearer error="insufficient_user_authentication",
 * max_age=<seconds>` when they fall short, so the client can step up (the service's
 * POST /v1/auth/reauthenticate, in the same session) and retry with the new token. A token
 * without `auth_time` (minted before the service issued it) is never fresh.
 */
export function requireFresh(options: RequireFreshOptions): MiddlewareHandler<{ Variables: SessionVariables }> {
  const { maxAgeSeconds, amr } = options;
  if (!Number.isInteger(maxAgeSeconds) || maxAgeSeconds < 0)
    throw new TypeError("requireFresh: maxAgeSeconds must be a non-negative integer");
  if (amr !== undefined && (!Array.isArray(amr) || amr.length === 0 || !amr.every((value) => typeof value === "string" && value !== "")))
    throw new TypeError("requireFresh: amr must be a non-empty list of RFC 8176 values");
  if (options.now !== undefined && typeof options.now !== "function") throw new TypeError("requireFresh: now must be a function");
  const now = options.now ?? Date.now;

  return async (c, next) => {
    const session = c.get("session");
    if (!session) throw new Error("requireFresh: mount it after requireSession");
    const { auth_time: authTime, amr: methods } = session.claims;
    const recent = typeof authTime === "number" && now() - authTime * 1000 <= maxAgeSeconds * 1000;
    const strongEnough = amr === undefined || (Array.isArray(methods) && methods.some((value) => amr.includes(value)));
    if (!recent || !strongEnough) return insufficientUserAuthentication(maxAgeSeconds);
    await next();
  };
}
