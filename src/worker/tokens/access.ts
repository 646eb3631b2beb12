import { decodeJwt, errors, type JWTPayload, jwtVerify, SignJWT } from "jose";
import { isCanonicalCompactJws } from "../../../consumer/token-format";
import { AUTH_METHODS, type AuthContext, type AuthMethod } from "../../contract/auth";
import { JWK_THUMBPRINT } from "../../contract/dpop";
import { SESSION_ID, USER_ID } from "../../contract/ids";
import type { Config } from "../../shared/config";
import { randomId } from "../../shared/encoding";
import { ACCESS_TOKEN_ALGORITHM, type KeySet } from "./keys";

/** RFC 9068 §2.1: access tokens are typed so that no other JWT can pass for one. */
export const ACCESS_TOKEN_TYPE = "at+jwt";
/** Longest token accepted before any parsing or crypto (the header holds one short JWS). */
export const MAX_ACCESS_TOKEN_LENGTH = 2048;

/** The claims of a verified token: `jwtVerify` has required `iss` and `aud` to be this service's. */
export interface AccessClaims extends JWTPayload {
  iss: string;
  aud: string | string[];
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  /** RFC 9449 §6.1: the token of a DPoP-bound session names its key; it is worthless without a proof by that key. */
  cnf?: { jkt: string };
  /** RFC 9470 §4: when the user last proved who they are in this session (seconds), and how (RFC 8176). */
  auth_time?: number;
  amr?: AuthMethod[];
}

/** Who a token is for, and the session's authentication context as its registry holds it. */
export interface AccessTokenSubject {
  userId: string;
  sessionId: string;
  auth: AuthContext;
  /** The session's DPoP key (RFC 7638 thumbprint), for `cnf` (RFC 9449 §6.1); null for an unbound session. */
  jkt?: string | null | undefined;
}

export type AccessTokenCheck = { ok: true; claims: AccessClaims } | { ok: false; reason: string };

export async function signAccessToken(keys: KeySet, config: Config, subject: AccessTokenSubject, nowMs = Date.now()): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  // The registry's clock may run a moment ahead of this one: a proof is never later than the token.
  const authTime = Math.min(Math.floor(subject.auth.authTime / 1000), iat);
  return new SignJWT({
    sid: subject.sessionId,
    auth_time: authTime,
    amr: subject.auth.amr,
    ...(subject.jkt ? { cnf: { jkt: subject.jkt } } : {}),
  })
    .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, kid: keys.signing.kid, typ: ACCESS_TOKEN_TYPE })
    .setIssuer(config.issuer)
    .setAudience(config.audience)
    .setSubject(subject.userId)
    .setJti(randomId("at"))
    .setIssuedAt(iat)
    .setExpirationTime(iat + config.accessTokenTtlSeconds)
    .sign(keys.signing.key);
}

/**
 * Signature and claims only (no liveness): algorithm pinned, `typ`, `iss`, `aud`, `exp`, `iat`,
 * and a maximum lifetime so a token minted with a far-future `exp` is refused.
 */
export async function verifyAccessTokenSignature(
  keys: KeySet,
  config: Config,
  token: string,
  nowMs = Date.now(),
  options: { acceptExpired?: boolean } = {},
): Promise<AccessTokenCheck> {
  if (token.length > MAX_ACCESS_TOKEN_LENGTH) return { ok: false, reason: "too_long" };
  // The consumer's check (consumer/token-format.ts): one token, one spelling, on both sides.
  if (!isCanonicalCompactJws(token)) return { ok: false, reason: "not_canonical" };
  try {
    const { payload } = await jwtVerify(token, (header) => keyFor(keys, header.kid), {
      algorithms: [ACCESS_TOKEN_ALGORITHM],
      typ: ACCESS_TOKEN_TYPE,
      issuer: config.issuer,
      audience: config.audience,
      requiredClaims: ["sub", "sid", "jti", "iat", "exp"],
      maxTokenAge: config.accessTokenTtlSeconds,
      currentDate: new Date(options.acceptExpired ? checkedAt(token, nowMs, config) : nowMs),
    });
    const { sub, sid, jti, iat, exp } = payload;
    if (typeof sub !== "string" || !USER_ID.test(sub)) return { ok: false, reason: "bad_sub" };
    if (typeof sid !== "string" || !SESSION_ID.test(sid)) return { ok: false, reason: "bad_sid" };
    if (typeof jti !== "string" || typeof iat !== "number" || typeof exp !== "number") return { ok: false, reason: "bad_claims" };
    if (exp - iat > config.accessTokenTtlSeconds) return { ok: false, reason: "lifetime_exceeded" };
    if (payload.cnf !== undefined && !isDpopConfirmation(payload.cnf)) return { ok: false, reason: "bad_cnf" };
    if (!authContextClaimsValid(payload, iat)) return { ok: false, reason: "bad_auth_context" };
    return { ok: true, claims: payload as AccessClaims };
  } catch (error) {
    if (error instanceof errors.JOSEError) return { ok: false, reason: error.code };
    if (error instanceof TypeError || error instanceof SyntaxError) return { ok: false, reason: "malformed" };
    throw error;
  }
}

/** `cnf` of our own tokens is `{ jkt }` and nothing else: any other confirmation method is not ours. */
function isDpopConfirmation(cnf: unknown): cnf is { jkt: string } {
  if (typeof cnf !== "object" || cnf === null || Array.isArray(cnf)) return false;
  const keys = Object.keys(cnf);
  const { jkt } = cnf as { jkt?: unknown };
  return keys.length === 1 && typeof jkt === "string" && JWK_THUMBPRINT.test(jkt);
}

/**
 * `auth_time` and `amr` come together or not at all (tokens minted before step-up existed have
 * neither, and count as not recent): an integer time no later than `iat`, and 1-5 known values.
 */
function authContextClaimsValid(payload: JWTPayload, iat: number): boolean {
  const { auth_time: authTime, amr } = payload as { auth_time?: unknown; amr?: unknown };
  if (authTime === undefined && amr === undefined) return true;
  if (typeof authTime !== "number" || !Number.isInteger(authTime) || authTime < 0 || authTime > iat) return false;
  return Array.isArray(amr) && amr.length >= 1 && amr.length <= 5 && amr.every((value) => AUTH_METHODS.includes(value));
}

/**
 * Only logout accepts an expired token: ending a session needs proof of possession, not freshness.
 * Such a token is checked as of the second before it expired (so `iat`, `nbf` and every other
 * claim are still checked), and only within the refresh lifetime after that.
 */
function checkedAt(token: string, nowMs: number, config: Config): number {
  let exp: unknown;
  try {
    exp = decodeJwt(token).exp;
  } catch {
    return nowMs;
  }
  if (typeof exp !== "number" || exp * 1000 > nowMs || nowMs - exp * 1000 > config.refreshTokenTtlSeconds * 1000) return nowMs;
  return exp * 1000 - 1000;
}

function keyFor(keys: KeySet, kid: unknown): CryptoKey {
  const key = typeof kid === "string" ? keys.verifying.get(kid) : undefined;
  if (!key) throw new errors.JWKSNoMatchingKey();
  return key;
}
