import { errors, jwtVerify } from "jose";
import { SESSION_ID, USER_ID } from "./ids.js";
import { type JwksCache, JwksUnavailableError } from "./jwks.js";
import type { AccessTokenClaims } from "./rpc.js";

/** The only algorithm the service signs with (RFC 8725 §3.1: pin it, never read it from the token). */
const ALGORITHM = "EdDSA";
/** RFC 9068 §2.1: only a token typed as an access token passes for one. */
const ACCESS_TOKEN_TYPE = "at+jwt";

export interface LocalExpectations {
  issuer: string;
  audience: string;
  maxTokenLifetimeSeconds: number;
  nowMs: number;
}

export type LocalCheck = { ok: true; claims: AccessTokenClaims } | { ok: false; code: "invalid_token" | "jwks_unavailable" };

/**
 * Signature and claims against the service's JWKS, without asking the service: says nothing of
 * liveness. Its one caller (require-session.ts) has already refused an over-long or
 * non-canonical token.
 */
export async function verifyLocally(
  token: string,
  jwks: JwksCache,
  fetchJwks: () => Promise<Response>,
  expect: LocalExpectations,
): Promise<LocalCheck> {
  try {
    const { payload } = await jwtVerify(token, (header, jws) => jwks.keyFor(header, jws, fetchJwks, expect.nowMs), {
      algorithms: [ALGORITHM],
      typ: ACCESS_TOKEN_TYPE,
      issuer: expect.issuer,
      audience: expect.audience,
      requiredClaims: ["sub", "sid", "jti", "iat", "exp"],
      maxTokenAge: expect.maxTokenLifetimeSeconds,
      currentDate: new Date(expect.nowMs),
    });
    const {
      iss,
      aud,
      sub,
      sid,
      jti,
      iat,
      exp,
      auth_time: authTime,
      amr,
      cnf,
    } = payload as typeof payload & { auth_time?: unknown; amr?: unknown; cnf?: unknown };
    if (typeof sub !== "string" || !USER_ID.test(sub) || typeof sid !== "string" || !SESSION_ID.test(sid))
      return { ok: false, code: "invalid_token" };
    if (typeof jti !== "string" || typeof iat !== "number" || typeof exp !== "number") return { ok: false, code: "invalid_token" };
    // A far-future `exp` would outlive every revocation a stateless check cannot see.
    if (exp - iat > expect.maxTokenLifetimeSeconds) return { ok: false, code: "invalid_token" };
    // A bound token (RFC 9449 §6.1) is only as good as its proof, which the caller has the service check.
    const jkt = typeof cnf === "object" && cnf !== null ? (cnf as { jkt?: unknown }).jkt : undefined;
    if (cnf !== undefined && typeof jkt !== "string") return { ok: false, code: "invalid_token" };
    const bound = typeof jkt === "string" ? { cnf: { jkt } } : {};
    // RFC 9470 §6: when the user last proved who they are, and how (RFC 8176). Both or neither;
    // a token minted before the service issued them has neither, and is never fresh (requireFresh).
    if (authTime === undefined && amr === undefined)
      return { ok: true, claims: { iss: iss!, aud: aud!, sub, sid, jti, iat, exp, ...bound } };
    if (typeof authTime !== "number" || !Number.isInteger(authTime) || authTime < 0 || authTime > iat)
      return { ok: false, code: "invalid_token" };
    if (!Array.isArray(amr) || amr.length === 0 || amr.length > 8 || !amr.every((v) => typeof v === "string" && v.length <= 16))
      return { ok: false, code: "invalid_token" };
    return { ok: true, claims: { iss: iss!, aud: aud!, sub, sid, jti, iat, exp, auth_time: authTime, amr, ...bound } };
  } catch (error) {
    if (error instanceof JwksUnavailableError) return { ok: false, code: "jwks_unavailable" };
    if (error instanceof errors.JOSEError || error instanceof TypeError || error instanceof SyntaxError)
      return { ok: false, code: "invalid_token" };
    throw error;
  }
}
