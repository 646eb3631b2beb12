import type { Context } from "hono";
import type { LimitDecision, RateLimiterRpc } from "../../contract/limiter";
import { configFrom, type WindowLimit } from "../../shared/config";
import { base64url, sha256 } from "../../shared/encoding";
import type { KnownDevice } from "../auth/device-token";
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
  // Without "::" the fill is empty for a whole address (and pads a short one).
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
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

/** A password attempt admitted by every limit; it must be settled once the password is checked. */
export interface SignInAttempt {
  settle(outcome: "failed" | "succeeded"): Promise<void>;
}

/** A failure budget: one limiter's key and its limit. */
interface Budget {
  key: string;
  limit: WindowLimit;
}

/**
 * Runs before any PBKDF2 work, so a locked-out account or a flooding IP costs two small Durable
 * Object calls. The path is the same for known and unknown emails. Every attempt counts against
 * the IP; only failures count against the failure budget, and a success does not reset it
 * (docs/operations.md). The budget is the device's own when the attempt carries this account's
 * device credential (device-token.ts), else the account's, shared by every unknown device: so
 * strangers' guesses never lock out the owner's known devices, and each known device may fail
 * only LOGIN_DEVICE_FAILURE_LIMIT times (OWASP, device cookies).
 */
export async function admitSignIn(c: Context<AppEnv>, normalizedEmail: string, device: KnownDevice | null = null): Promise<SignInAttempt> {
  const config = configFrom(c.env);
  const budget: Budget = device
    ? { key: `device:${device.userId}:${device.nonce}`, limit: config.loginFailuresPerDevice }
    : { key: await accountKey(normalizedEmail), limit: config.loginFailuresPerAccount };
  return admitFailures(c.env, [budget], { key: `ip:${clientAddress(c)}`, limit: config.loginPerIp });
}

/**
 * A password change's check of `current_password`, limited like a sign-in: the failures of one
 * session, and of every session of the account together (a thief with several stolen sessions
 * gets no more guesses). Its own keys, not the sign-in budgets: strangers failing to sign in do
 * not stop a signed-in owner from changing the password.
 */
export function admitPasswordCheck(c: Context<AppEnv>, userId: string, sessionId: string): Promise<SignInAttempt> {
  const config = configFrom(c.env);
  return admitFailures(c.env, [
    { key: `password-session:${sessionId}`, limit: config.loginFailuresPerDevice },
    { key: `password-account:${userId}`, limit: config.loginFailuresPerAccount },
  ]);
}

/**
 * The admin dashboard's sign-in (src/worker/web/admin-routes.tsx): ADMIN_TOKEN is long and random,
 * so this is not what keeps it from being guessed; it keeps a guesser from making it a hot path and
 * turns a flood into 429s. Failures only, per client address; fixed, not a setting: an operator
 * who fails five times in a quarter of an hour should wait too.
 */
export const ADMIN_SIGN_IN_FAILURES: WindowLimit = { limit: 5, windowMs: 15 * 60_000 };

export function admitAdminSignIn(c: Context<AppEnv>): Promise<SignInAttempt> {
  return admitFailures(c.env, [{ key: `admin-sign-in:${clientAddress(c)}`, limit: ADMIN_SIGN_IN_FAILURES }]);
}

/**
 * Reserves one failure in each budget (the limiter's `acquire`: parallel guesses cannot slip past
 * a check-then-count gap), and counts the attempt against `attempts` if given. Refused if any is
 * full, with the longest wait; the reservations already made are given back.
 */
async function admitFailures(env: Env, budgets: Budget[], attempts?: Budget): Promise<SignInAttempt> {
  const limiters = budgets.map((budget) => limiterFor(env, budget.key));
  const [byAttempts, ...leases] = await Promise.all([
    attempts ? failClosed("limiter", () => limiterFor(env, attempts.key).hit(attempts.limit)) : ({ allowed: true } as const),
    ...limiters.map((limiter, i) => failClosed("limiter", () => limiter.acquire(budgets[i]!.limit))),
  ]);
  const settleAll = (failed: boolean) =>
    Promise.all(
      leases.map((lease, i) =>
        lease!.allowed ? failClosed("limiter", () => limiters[i]!.settle(lease.lease, failed, budgets[i]!.limit)) : undefined,
      ),
    ).then(() => undefined);
  const refusals = [byAttempts, ...leases].flatMap((decision) => (decision!.allowed ? [] : [decision!.retryAfterSeconds]));
  if (refusals.length > 0) {
    await settleAll(false);
    throw rateLimited(Math.max(...refusals));
  }
  return { settle: (outcome) => settleAll(outcome === "failed") };
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
