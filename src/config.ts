import { z } from "zod";
import { ApiError } from "./errors";

const seconds = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** Service configuration from wrangler vars, with the defaults documented in the README. */
const configSchema = z.object({
  JWT_ISSUER: z.string().min(1).default("https://auth.example.com"),
  JWT_AUDIENCE: z.string().min(1).default("https://api.example.com"),
  ACCESS_TOKEN_TTL_SECONDS: seconds(600, 30, 3600),
  REFRESH_TOKEN_TTL_SECONDS: seconds(30 * 86400, 300, 400 * 86400),
  REFRESH_GRACE_SECONDS: seconds(10, 0, 120),
  ALLOWED_ORIGINS: z.string().default(""),
});

export interface Config {
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  refreshGraceSeconds: number;
  allowedOrigins: readonly string[];
}

const cache = new WeakMap<object, Config>();

export function configFrom(env: Env): Config {
  const cached = cache.get(env);
  if (cached) return cached;
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    console.error(JSON.stringify({ level: "error", msg: "invalid configuration", issues: parsed.error.issues }));
    throw new ApiError("service_unavailable", "The service is misconfigured");
  }
  const vars = parsed.data;
  const config: Config = {
    issuer: vars.JWT_ISSUER,
    audience: vars.JWT_AUDIENCE,
    accessTokenTtlSeconds: vars.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlSeconds: vars.REFRESH_TOKEN_TTL_SECONDS,
    refreshGraceSeconds: vars.REFRESH_GRACE_SECONDS,
    allowedOrigins: vars.ALLOWED_ORIGINS.split(",").map((s) => s.trim()).filter(Boolean),
  };
  cache.set(env, config);
  return config;
}
