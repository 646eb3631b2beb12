import { decodeJwt, errors, type JWTPayload, jwtVerify, SignJWT } from "jose";
import { isCanonicalCompactJws } from "../../../consumer/token-format";
import { SESSION_ID, USER_ID } from "../../contract/ids";
import type { Config } from "../../shared/config";
import { randomId } from "../../shared/encoding";
import { ACCESS_TOKEN_ALGORITHM, type KeySet } from "./keys";

/** RFC 9068 §2.1: access tokens are typed so that no other JWT can pass for one. */
export const ACCESS_TOKEN_TYPE = "at+jwt";
/** Longest token accepted before any parsing or crypto (the header holds one short JWS). */
export const MAX_ACCESS_TOKEN_LENGTH = 2048;

export interface AccessClaims extends JWTPayload {
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
}

export type AccessTokenCheck = { ok: true; claims: AccessClaims } | { ok: false; reason: string };

export async function signAccessToken(
  keys: KeySet,
  config: Config,
  subject: { userId: string; sessionId: string },
  nowMs = Date.now(),
): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  return new SignJWT({ sid: subject.sessionId })
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
    return { ok: true, claims: payload as AccessClaims };
  } catch (error) {
    if (error instanceof errors.JOSEError) return { ok: false, reason: error.code };
    if (error instanceof TypeError || error instanceof SyntaxError) return { ok: false, reason: "malformed" };
    throw error;
  }
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
