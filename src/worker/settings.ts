import { createMiddleware } from "hono/factory";
import { configFrom } from "../shared/config";
import { refreshKeys } from "../shared/refresh-token";
import type { AppEnv } from "./env";
import { loadKeySet } from "./tokens/keys";

/**
 * Every setting a request to the API may need, checked before anything reaches a Durable Object:
 * the vars, JWT_SIGNING_KEYS and REFRESH_TOKEN_SECRET (route groups check their own secrets,
 * INTROSPECTION_CLIENTS and ADMIN_TOKEN). Each reader caches its parse per value, so this costs a
 * few map lookups per request. A bad setting throws `ConfigurationError`, which `app.onError`
 * answers with 503 `service_unavailable` and one log line naming the setting.
 */
export async function checkSettings(env: Env): Promise<void> {
  configFrom(env);
  await Promise.all([loadKeySet(env.JWT_SIGNING_KEYS), refreshKeys(env.REFRESH_TOKEN_SECRET)]);
}

export const requireSettings = createMiddleware<AppEnv>(async (c, next) => {
  await checkSettings(c.env);
  await next();
});
