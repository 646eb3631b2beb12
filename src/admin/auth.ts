import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { digestsEqual, sha256 } from "../encoding";
import { ApiError } from "../errors";

/** Shorter than this, ADMIN_TOKEN is treated as unset: a guessable admin credential is worse than none. */
const MIN_ADMIN_TOKEN_LENGTH = 32;
const MAX_AUTHORIZATION_HEADER = 4096;

/**
 * The admin API's guard. Without a usable ADMIN_TOKEN the API answers 404 as if it did not exist
 * (fails closed). Otherwise the presented bearer token is compared with the secret as SHA-256
 * digests in constant time: fixed-length inputs, so neither the comparison nor its length leaks.
 */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const secret = c.env.ADMIN_TOKEN;
  if (typeof secret !== "string" || secret.length < MIN_ADMIN_TOKEN_LENGTH) throw new ApiError("not_found");
  const header = c.req.header("Authorization") ?? "";
  const presented = header.length <= MAX_AUTHORIZATION_HEADER ? /^Bearer (\S+)$/i.exec(header)?.[1] : undefined;
  // Both digests are computed either way, so a missing header costs what a wrong one does.
  const [expected, actual] = await Promise.all([sha256(secret), sha256(presented ?? "")]);
  if (!digestsEqual(expected, actual) || presented === undefined) {
    throw new ApiError("admin_unauthorized", undefined, { "WWW-Authenticate": 'Bearer realm="admin"' });
  }
  await next();
});
