import type { Context } from "hono";
import type { LimitDecision, RateLimiterRpc } from "../../contract/limiter";
import { configFrom, type WindowLimit } from "../../shared/config";
import { base64url, sha256 } from "../../shared/encoding";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { failClosed } from "../http/fail-closed";

export function limiterFor(env: Env, key: string): DurableObjectStub<RateLimiterRpc> {
  return env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(key));
}

/** 429 with the seconds until the window ends (RFC 9110 §10.2.3 delay-seconds). */
export function rateLimited(retryAfterSeconds: number): ApiError {
  return new ApiError("rate_limited", { headers: { "Retry-After": String(retryAfterSeconds) } });
}

/**
 * The client's address as a limiter key. Cloudflare always sets CF-Connecting-IP at the edge;
 * without it (a service binding, a local test) every such request shares one bucket, which fails
 * closed. IPv6 is keyed by its /64: one subscriber usually holds a whole /64.
 */
export function clientAddress(c: Context<AppEnv>): string {
  return addressKey(c.req.header("CF-Connecting-IP"));
}

export function addressKey(header: string | undefined): string {
  const ip = header?.trim();
  if (!ip) return "unknown";
  return ip.includes(":") ? ipv6Prefix64(ip) : ip;
}

function ipv6Prefix64(ip: string): string {
  const [head = "", tail] = ip.toLowerCase().split("%")[0]!.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

/**
 * Per-account counters are keyed by the normalized email, hashed, not by user id: an unknown
 * email must be limited exactly like a real one, or 429 would tell an attacker which emails have
 * accounts. Hashed so no address sits in an object name or a log.
 */
export async function accountKey(normalizedEmail: string): Promise<string> {
  return `account:${base64url(await sha256(normalizedEmail))}`;
}

/** Counts one attempt against `key`, or throws 429. */
export async function countAttempt(env: Env, key: string, limit: WindowLimit): Promise<void> {
  const decision: LimitDecision = await failClosed("limiter", () => limiterFor(env, key).hit(limit));
  if (!decision.allowed) throw rateLimited(decision.retryAfterSeconds);
}

/** A sign-in attempt admitted by both limits; it must be settled once the password is checked. */
export interface SignInAttempt {
  settle(outcome: "failed" | "succeeded"): Promise<void>;
}

/**
 * Runs before any PBKDF2 work, so a locked-out account or a flooding IP costs two small Durable
 * Object calls. The path is the same for known and unknown emails (the user is not looked up yet).
 * Every attempt counts against the IP; against the account only failures count, and a success
 * does not reset the count (see docs/operations.md).
 */
export async function admitSignIn(c: Context<AppEnv>, normalizedEmail: string): Promise<SignInAttempt> {
  const config = configFrom(c.env);
  const account = limiterFor(c.env, await accountKey(normalizedEmail));
  const accountLimit = config.loginFailuresPerAccount;
  const [byIp, byAccount] = await Promise.all([
    failClosed("limiter", () => limiterFor(c.env, `ip:${clientAddress(c)}`).hit(config.loginPerIp)),
    failClosed("limiter", () => account.acquire(accountLimit)),
  ]);
  if (!byAccount.allowed || !byIp.allowed) {
    if (byAccount.allowed) await failClosed("limiter", () => account.settle(byAccount.lease, false, accountLimit));
    const retry = Math.max(byIp.allowed ? 0 : byIp.retryAfterSeconds, byAccount.allowed ? 0 : byAccount.retryAfterSeconds);
    throw rateLimited(retry);
  }
  return {
    settle: (outcome) => failClosed("limiter", () => account.settle(byAccount.lease, outcome === "failed", accountLimit)),
  };
}

/**
 * Addresses whose client authentications the limiter allowed lately (address -> until when): a
 * backend that keeps presenting the right secret asks its limiter once per ALLOWED_FOR_MS per
 * isolate, not on every introspection, so one busy backend address is not a hot object. Memory
 * only, bounded, and dropped for an address as soon as its limiter refuses anything.
 */
const recentlyAllowed = new Map<string, number>();
const ALLOWED_FOR_MS = 10_000;
const MAX_ALLOWED_ADDRESSES = 1024;

/**
 * The verdict on an OAuth client authentication whose outcome is known but not yet revealed, from
 * the limiter of the caller's address (`oauth-client-ip:<address>`). No slot is held while a
 * request is in flight, so a busy backend is never queued. Only failures count, and every failure
 * is decided by the limiter; once they fill the window every attempt gets 429, the right secret
 * too: a guess is never confirmed past the limit, which is what stops guessing. The one exception
 * is a right secret from an address this isolate saw allowed in the last ALLOWED_FOR_MS
 * (docs/operations.md weighs it).
 */
export async function judgeClientAuthentication(c: Context<AppEnv>, failed: boolean): Promise<void> {
  const address = clientAddress(c);
  const now = Date.now();
  if (!failed && (recentlyAllowed.get(address) ?? 0) > now) return;
  const limit = configFrom(c.env).oauthClientFailuresPerIp;
  const decision = await failClosed("limiter", () => limiterFor(c.env, `oauth-client-ip:${address}`).decide(limit, failed));
  if (!decision.allowed) {
    recentlyAllowed.delete(address);
    throw rateLimited(decision.retryAfterSeconds);
  }
  if (failed) return;
  if (recentlyAllowed.size >= MAX_ALLOWED_ADDRESSES) recentlyAllowed.clear();
  recentlyAllowed.set(address, now + ALLOWED_FOR_MS);
}
