import { createMiddleware } from "hono/factory";
import { ConfigurationError } from "../../shared/config";
import { digestsEqual, sha256 } from "../../shared/encoding";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";

/** Shorter than this, ADMIN_TOKEN is misconfigured: a guessable admin credential is worse than none. */
const MIN_ADMIN_TOKEN_LENGTH = 32;
const MAX_AUTHORIZATION_HEADER = 4096;

/** ADMIN_TOKEN, or the refusal every admin surface (the API and the /admin dashboard) gives without a usable one. */
export function adminSecret(env: Env): string {
  const secret = env.ADMIN_TOKEN;
  if (typeof secret !== "string" || secret === "") throw new ApiError("not_found");
  if (secret.length < MIN_ADMIN_TOKEN_LENGTH)
    throw new ConfigurationError("ADMIN_TOKEN", `must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters`);
  return secret;
}

/**
 * The admin API's guard. Without ADMIN_TOKEN the API answers 404 as if it did not exist (it is off
 * until an operator sets the secret on purpose); a token too short to be safe is a misconfiguration
 * (503, logged), never a weak way in. Otherwise the presented bearer token is compared with the secret as SHA-256
 * digests in constant time: fixed-length inputs, so neither the comparison nor its length leaks.
 */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const secret = adminSecret(c.env);
  const header = c.req.header("Authorization") ?? "";
  const presented = header.length <= MAX_AUTHORIZATION_HEADER ? /^Bearer (\S+)$/i.exec(header)?.[1] : undefined;
  // Both digests are computed either way, so a missing header costs what a wrong one does.
  const [expected, actual] = await Promise.all([sha256(secret), sha256(presented ?? "")]);
  if (!digestsEqual(expected, actual) || presented === undefined) {
    throw new ApiError("admin_unauthorized", { headers: { "WWW-Authenticate": 'Bearer realm="admin"' } });
  }
  await next();
});
