import type { Context } from "hono";
import type { SessionServiceBinding } from "./rpc.js";

export type SessionCheckMode = "strict" | "cached" | "stateless";

export interface RequireSessionOptions {
  /**
   * The service binding to the session service (`"entrypoint": "SessionService"`): the name of the
   * binding in `c.env`, or a function returning it. Required by `strict` and `cached`.
   */
  binding?: string | ((c: Context) => SessionServiceBinding);
  /** Where to read the JWKS from. Defaults to `binding.fetch()` of the service's JWKS path. */
  jwksUrl?: string;
  mode: SessionCheckMode;
  /** Must equal the service's JWT_ISSUER and JWT_AUDIENCE. */
  issuer: string;
  audience: string;
  /** `cached` only: how long a confirmed session is taken as live without asking (default 5 s, at most 5 min). */
  cacheTtlMs?: number;
  /** Longest `exp - iat` accepted (default 3600, the service's maximum ACCESS_TOKEN_TTL_SECONDS). */
  maxTokenLifetimeSeconds?: number;
  /** Injectable clock (milliseconds), for tests; defaults to `Date.now`. */
  now?: () => number;
}

export interface ResolvedOptions {
  binding: ((c: Context) => SessionServiceBinding) | null;
  jwksUrl: string | null;
  mode: SessionCheckMode;
  issuer: string;
  audience: string;
  cacheTtlMs: number;
  maxTokenLifetimeSeconds: number;
  now: () => number;
}

export const DEFAULT_CACHE_TTL_MS = 5_000;
const MAX_CACHE_TTL_MS = 5 * 60_000;
const MODES: readonly SessionCheckMode[] = ["strict", "cached", "stateless"];

/** Validated once, when the middleware is built: a misspelt option fails at start-up, not per request. */
export function resolveOptions(options: RequireSessionOptions): ResolvedOptions {
  const fail = (why: string): never => {
    throw new TypeError(`requireSession: ${why}`);
  };
  if (typeof options !== "object" || options === null) fail("options are required");
  if (!MODES.includes(options.mode)) fail(`mode must be one of ${MODES.join(", ")}`);
  if (typeof options.issuer !== "string" || options.issuer === "") fail("issuer is required");
  if (typeof options.audience !== "string" || options.audience === "") fail("audience is required");
  const binding = bindingGetter(options.binding, fail);
  if (options.mode !== "stateless" && !binding) fail(`mode "${options.mode}" needs a binding: liveness is the service's to confirm`);
  let jwksUrl: string | null = null;
  if (options.jwksUrl !== undefined) {
    if (!isAllowedJwksUrl(options.jwksUrl)) fail("jwksUrl must be an https URL, or http on localhost, 127.0.0.1 or [::1]");
    jwksUrl = options.jwksUrl;
  }
  if (options.mode !== "strict" && !binding && !jwksUrl) fail(`mode "${options.mode}" needs a binding or a jwksUrl to read the JWKS from`);
  const cacheTtlMs = options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
  if (!Number.isInteger(cacheTtlMs) || cacheTtlMs < 0 || cacheTtlMs > MAX_CACHE_TTL_MS)
    fail(`cacheTtlMs must be an integer from 0 to ${MAX_CACHE_TTL_MS}`);
  if (options.cacheTtlMs !== undefined && options.mode !== "cached") fail('cacheTtlMs applies to mode "cached" only');
  const maxTokenLifetimeSeconds = options.maxTokenLifetimeSeconds ?? 3600;
  if (!Number.isInteger(maxTokenLifetimeSeconds) || maxTokenLifetimeSeconds < 1) fail("maxTokenLifetimeSeconds must be a positive integer");
  if (options.now !== undefined && typeof options.now !== "function") fail("now must be a function");
  return {
    binding,
    jwksUrl,
    mode: options.mode,
    issuer: options.issuer,
    audience: options.audience,
    cacheTtlMs,
    maxTokenLifetimeSeconds,
    now: options.now ?? Date.now,
  };
}

/**
 * Keys fetched over plain http could be swapped by anyone on the path, and with them every token
 * accepted. Loopback is the exception: a service run by `wrangler dev` on the same machine, where
 * nothing sits on the path. Hostnames are compared exactly, so `localhost.example.com` is not one.
 */
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
function isAllowedJwksUrl(jwksUrl: unknown): boolean {
  if (typeof jwksUrl !== "string" || !URL.canParse(jwksUrl)) return false;
  const url = new URL(jwksUrl);
  return url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname));
}

function bindingGetter(binding: RequireSessionOptions["binding"], fail: (why: string) => never): ResolvedOptions["binding"] {
  if (binding === undefined) return null;
  if (typeof binding === "function") return binding;
  if (typeof binding !== "string" || binding === "") fail("binding must be a binding name or a function");
  return (c) => {
    const found = (c.env as Record<string, unknown> | undefined)?.[binding as string];
    if (!found || typeof (found as SessionServiceBinding).verify !== "function") {
      throw new Error(`requireSession: c.env.${binding as string} is not a service binding to SessionService`);
    }
    return found as SessionServiceBinding;
  };
}
