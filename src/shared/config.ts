import { z } from "zod";
import type { WindowLimit } from "../contract/limiter";
import { log } from "./log";

export type { WindowLimit } from "../contract/limiter";

/** The relying party `npm run dev` works with unconfigured: any http://localhost:<port> page. */
const LOCAL_RP_ID = "localhost";

const seconds = (fallback: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(fallback);
const count = seconds;

/** Service configuration from wrangler vars, with the defaults documented in docs/configuration.md. */
const configSchema = z
  .object({
    JWT_ISSUER: z.string().min(1).default("https://auth.example.com"),
    JWT_AUDIENCE: z.string().min(1).default("https://api.example.com"),
    ACCESS_TOKEN_TTL_SECONDS: seconds(600, 30, 3600),
    REFRESH_TOKEN_TTL_SECONDS: seconds(30 * 86400, 300, 400 * 86400),
    REFRESH_GRACE_SECONDS: seconds(10, 0, 120),
    ALLOWED_ORIGINS: z.string().default(""),
    MAX_SESSIONS: z.coerce.number().int().min(1).max(1000).default(10),
    SESSION_LIMIT_POLICY: z.enum(["evict_oldest", "evict_least_recently_used", "reject"]).default("evict_least_recently_used"),
    SESSION_IDLE_TIMEOUT_SECONDS: seconds(14 * 86400, 300, 400 * 86400),
    IMPOSSIBLE_TRAVEL_KMH: z.coerce.number().min(100).max(100_000).default(1000),
    SECURITY_EVENT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
    // Checked in webhookUrl(): a bad webhook URL must not take sign-in down with it.
    SECURITY_WEBHOOK_URL: z.string().default(""),
    // Abuse protection (docs/operations.md). Windows are fixed, anchored at their first counted event.
    LOGIN_IP_LIMIT: count(30, 1, 100_000),
    LOGIN_IP_WINDOW_SECONDS: seconds(60, 1, 86400),
    LOGIN_ACCOUNT_FAILURE_LIMIT: count(10, 1, 1000),
    LOGIN_ACCOUNT_WINDOW_SECONDS: seconds(900, 60, 86400),
    // Device cookies (OWASP): each known device's own failure budget, over the account's window.
    LOGIN_DEVICE_FAILURE_LIMIT: count(5, 1, 1000),
    DEVICE_TOKEN_TTL_SECONDS: seconds(90 * 86400, 86400, 400 * 86400),
    SIGNUP_IP_LIMIT: count(30, 1, 100_000),
    SIGNUP_IP_WINDOW_SECONDS: seconds(60, 1, 86400),
    REFRESH_SESSION_LIMIT: count(30, 1, 100_000),
    REFRESH_SESSION_WINDOW_SECONDS: seconds(60, 1, 86400),
    OAUTH_CLIENT_FAILURE_LIMIT: count(20, 1, 1000),
    OAUTH_CLIENT_FAILURE_WINDOW_SECONDS: seconds(900, 60, 86400),
    // DPoP (RFC 9449): how old a proof may be, and server nonces (off unless "on").
    DPOP_PROOF_MAX_AGE_SECONDS: seconds(60, 5, 300),
    DPOP_NONCES: z.enum(["off", "on"]).default("off"),
    DPOP_NONCE_LIFETIME_SECONDS: seconds(300, 30, 3600),
    // DBSC (docs/dbsc.md): how long a device-bound session's refresh cookie lives between proofs.
    // Below 300 s Chromium's signing quota (6 signatures per 9 minutes per site) runs out for an
    // active user; the floor of 10 s is for tests run with the quota off.
    DBSC_COOKIE_SECONDS: seconds(600, 10, 3600),
    // Cleanup (the cron trigger).
    SESSION_HISTORY_DAYS: count(30, 0, 3650),
    CLEANUP_BATCH_SIZE: count(500, 1, 10_000),
    CLEANUP_MAX_BATCHES: count(20, 1, 1000),
    // Passkeys (WebAuthn Level 3 relying party) and step-up (RFC 9470); see relyingParty() below.
    WEBAUTHN_RP_ID: z.string().default(LOCAL_RP_ID),
    WEBAUTHN_RP_NAME: z.string().trim().min(1).max(64).default("edge-sessions"),
    WEBAUTHN_ORIGINS: z.string().default(""),
    STEP_UP_MAX_AGE_SECONDS: seconds(600, 30, 86400),
    // NIST SP 800-63B-4 §3.1.1.2: 15 for a password that is the only factor; never below 8.
    PASSWORD_MIN_LENGTH: count(15, 8, 64),
    // Read by the security-headers middleware itself (it runs on every response); checked here so a
    // typo is a 503 naming the setting rather than a silent default.
    STRICT_TRANSPORT_SECURITY: z.enum(["on", "off"]).default("on"),
  })
  .refine(
    // The contract's floor: at least 30 sign-in attempts a minute from one IP, whatever the window.
    // A client keeping to 30 a rolling minute makes at most 30 per started minute of a fixed window.
    (vars) => vars.LOGIN_IP_LIMIT >= 30 * Math.ceil(vars.LOGIN_IP_WINDOW_SECONDS / 60),
    { message: "LOGIN_IP_LIMIT must allow at least 30 attempts a minute over LOGIN_IP_WINDOW_SECONDS", path: ["LOGIN_IP_LIMIT"] },
  );

/**
 * Client clocks run a little fast or slow: a DPoP proof's `iat` may be this far ahead of the
 * server's clock, and this much older than DPOP_PROOF_MAX_AGE_SECONDS (RFC 9449 §11.1). Answers
 * carry `Date`, so a client can correct a clock that is further off.
 */
export const DPOP_CLOCK_SKEW_SECONDS = 5;

export interface DpopSettings {
  /** Oldest `iat` accepted, before the skew allowance. */
  proofMaxAgeSeconds: number;
  /** Whether proofs must carry a server nonce (RFC 9449 §8-9). */
  nonces: boolean;
  /** How long a nonce is accepted after it was issued; a new one is offered from half that age. */
  nonceLifetimeSeconds: number;
}

export type SessionLimitPolicy = "evict_oldest" | "evict_least_recently_used" | "reject";

export interface Config {
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  refreshGraceSeconds: number;
  allowedOrigins: readonly string[];
  /** Live sessions a user may hold at once; 1 is single-device mode. */
  maxSessions: number;
  /** What a sign-in beyond `maxSessions` does: end the oldest, or the least recently used, session, or be refused. */
  sessionLimitPolicy: SessionLimitPolicy;
  /** A session unused for this long is over, whatever its absolute expiry. */
  idleTimeoutSeconds: number;
  /** Consecutive activity implying a faster ground speed than this is flagged as impossible travel. */
  impossibleTravelKmh: number;
  /** How long security events are kept and listed. */
  securityEventRetentionDays: number;
  /** Where security events are POSTed, signed; null when off. */
  securityWebhookUrl: string | null;
  loginPerIp: WindowLimit;
  /** Failed sign-ins per account from devices without its device credential, together. */
  loginFailuresPerAccount: WindowLimit;
  /** Failed sign-ins per known device (device credential), and failed password checks per session. */
  loginFailuresPerDevice: WindowLimit;
  /** How long a device credential stays valid after the sign-in that issued it. */
  deviceTokenTtlSeconds: number;
  signupPerIp: WindowLimit;
  refreshPerSession: WindowLimit;
  /** Failed client authentications on the OAuth endpoints, per client address. */
  oauthClientFailuresPerIp: WindowLimit;
  dpop: DpopSettings;
  /** How long a DBSC-bound session's refresh cookie is accepted after the browser last proved its key. */
  dbscCookieSeconds: number;
  sessionHistoryMs: number;
  securityEventRetentionMs: number;
  cleanupBatchSize: number;
  cleanupMaxBatches: number;
  /** The WebAuthn relying party: passkeys are scoped to `rpId` and accepted only from `origins`. */
  relyingParty: RelyingParty;
  /** How old `auth_time` may be for an action that adds or removes a way into the account (RFC 9470 `max_age`). */
  stepUpMaxAgeSeconds: number;
  /** The fewest characters (code points of the NFKC form) a new password may have. */
  passwordMinLength: number;
}

export interface RelyingParty {
  rpId: string;
  rpName: string;
  /** Exact origins (scheme://host[:port]) a ceremony may come from; "localhost" means any http(s)://localhost:<port>. */
  origins: readonly string[] | "localhost";
}

const DAY_MS = 86_400_000;

/**
 * A setting (a var or a secret) that is missing or malformed. Thrown by whatever reads the setting;
 * the Worker checks every setting before a request reaches a Durable Object and answers 503
 * `service_unavailable` with one log line naming the setting (never its value).
 */
export class ConfigurationError extends Error {
  override readonly name = "ConfigurationError";
  constructor(
    readonly setting: string,
    readonly why: string,
  ) {
    super(`${setting}: ${why}`);
  }
}

const cache = new WeakMap<object, Config>();

/**
 * Empty turns the webhook off; otherwise it must be an https URL (events carry account activity).
 * Anything else also turns it off, loudly: a webhook is a notification, and a typo in its URL
 * should not answer every sign-in with 503 the way a bad token setting must.
 */
function webhookUrl(value: string): string | null {
  if (value === "") return null;
  if (z.url({ protocol: /^https$/ }).safeParse(value).success) return value;
  log("error", "SECURITY_WEBHOOK_URL is not an https URL; the security webhook is off", { setting: "SECURITY_WEBHOOK_URL" });
  return null;
}

/** A domain name as WebAuthn's RP ID must be (§5.1.3: a valid domain string; no scheme, port or path). */
const RP_ID = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * The relying party, checked as strictly as the signing keys: a wrong RP ID or origin list would
 * refuse every passkey, or worse accept ceremonies from a page that is not ours. Every origin must
 * be https (http only for localhost, which browsers treat as a secure context) and be the RP ID or
 * one of its subdomains (WebAuthn §5.1.3 and §13.4.9: a page can only use an RP ID it is under).
 * Empty WEBAUTHN_ORIGINS means `https://<rpId>`, except for the local default rpId "localhost",
 * where any port is allowed so `npm run dev` works on whatever port it gets.
 */
function relyingParty(rpId: string, rpName: string, originsVar: string): RelyingParty {
  if (!RP_ID.test(rpId) || /^[0-9.]+$/.test(rpId))
    throw new ConfigurationError("WEBAUTHN_RP_ID", "must be a lower-case domain name, without scheme or port");
  const listed = originsVar
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (listed.length === 0) return { rpId, rpName, origins: rpId === LOCAL_RP_ID ? "localhost" : [`https://${rpId}`] };
  for (const origin of listed) {
    const url = URL.canParse(origin) ? new URL(origin) : null;
    const local = url?.hostname === "localhost";
    const ok =
      url !== null &&
      url.origin === origin &&
      (url.protocol === "https:" || (local && url.protocol === "http:")) &&
      (url.hostname === rpId || url.hostname.endsWith(`.${rpId}`));
    if (!ok)
      throw new ConfigurationError(
        "WEBAUTHN_ORIGINS",
        "each entry must be an https origin (scheme://host[:port]) on WEBAUTHN_RP_ID or a subdomain",
      );
  }
  return { rpId, rpName, origins: listed };
}

/** Whether a ceremony's `clientDataJSON.origin` is one this relying party accepts (compared exactly). */
export function acceptsOrigin(rp: RelyingParty, origin: string): boolean {
  if (rp.origins !== "localhost") return rp.origins.includes(origin);
  return /^https?:\/\/localhost(?::[1-9][0-9]{0,4})?$/.test(origin);
}

export function configFrom(env: Env): Config {
  const cached = cache.get(env);
  if (cached) return cached;
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigurationError(String(issue.path[0] ?? "vars"), issue.message);
  }
  const vars = parsed.data;
  const config: Config = {
    issuer: vars.JWT_ISSUER,
    audience: vars.JWT_AUDIENCE,
    accessTokenTtlSeconds: vars.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlSeconds: vars.REFRESH_TOKEN_TTL_SECONDS,
    refreshGraceSeconds: vars.REFRESH_GRACE_SECONDS,
    allowedOrigins: vars.ALLOWED_ORIGINS.split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    maxSessions: vars.MAX_SESSIONS,
    sessionLimitPolicy: vars.SESSION_LIMIT_POLICY,
    idleTimeoutSeconds: vars.SESSION_IDLE_TIMEOUT_SECONDS,
    impossibleTravelKmh: vars.IMPOSSIBLE_TRAVEL_KMH,
    securityEventRetentionDays: vars.SECURITY_EVENT_RETENTION_DAYS,
    securityWebhookUrl: webhookUrl(vars.SECURITY_WEBHOOK_URL),
    loginPerIp: { limit: vars.LOGIN_IP_LIMIT, windowMs: vars.LOGIN_IP_WINDOW_SECONDS * 1000 },
    loginFailuresPerAccount: { limit: vars.LOGIN_ACCOUNT_FAILURE_LIMIT, windowMs: vars.LOGIN_ACCOUNT_WINDOW_SECONDS * 1000 },
    loginFailuresPerDevice: { limit: vars.LOGIN_DEVICE_FAILURE_LIMIT, windowMs: vars.LOGIN_ACCOUNT_WINDOW_SECONDS * 1000 },
    deviceTokenTtlSeconds: vars.DEVICE_TOKEN_TTL_SECONDS,
    signupPerIp: { limit: vars.SIGNUP_IP_LIMIT, windowMs: vars.SIGNUP_IP_WINDOW_SECONDS * 1000 },
    refreshPerSession: { limit: vars.REFRESH_SESSION_LIMIT, windowMs: vars.REFRESH_SESSION_WINDOW_SECONDS * 1000 },
    oauthClientFailuresPerIp: { limit: vars.OAUTH_CLIENT_FAILURE_LIMIT, windowMs: vars.OAUTH_CLIENT_FAILURE_WINDOW_SECONDS * 1000 },
    dpop: {
      proofMaxAgeSeconds: vars.DPOP_PROOF_MAX_AGE_SECONDS,
      nonces: vars.DPOP_NONCES === "on",
      nonceLifetimeSeconds: vars.DPOP_NONCE_LIFETIME_SECONDS,
    },
    dbscCookieSeconds: vars.DBSC_COOKIE_SECONDS,
    sessionHistoryMs: vars.SESSION_HISTORY_DAYS * DAY_MS,
    securityEventRetentionMs: vars.SECURITY_EVENT_RETENTION_DAYS * DAY_MS,
    cleanupBatchSize: vars.CLEANUP_BATCH_SIZE,
    cleanupMaxBatches: vars.CLEANUP_MAX_BATCHES,
    relyingParty: relyingParty(vars.WEBAUTHN_RP_ID, vars.WEBAUTHN_RP_NAME, vars.WEBAUTHN_ORIGINS),
    stepUpMaxAgeSeconds: vars.STEP_UP_MAX_AGE_SECONDS,
    passwordMinLength: vars.PASSWORD_MIN_LENGTH,
  };
  cache.set(env, config);
  return config;
}
