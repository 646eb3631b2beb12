/**
 * What crosses to the registry about Device Bound Session Credentials (W3C WebAppSec DBSC, docs/dbsc.md).
 * The Worker checks what a registration proof shows by itself (its key and signature); the registry
 * checks what needs the user's state: the challenge, the session, and, for a refresh, the signature
 * by the key it stored at registration (refresh proofs carry no key).
 */

export type DbscAlgorithm = "ES256" | "RS256";

/** A browser's DBSC key: its public members only, and their RFC 7638 SHA-256 thumbprint. */
export interface DbscKey {
  alg: DbscAlgorithm;
  jwk: { kty: "EC"; crv: "P-256"; x: string; y: string } | { kty: "RSA"; n: string; e: string };
  jkt: string;
}

/** A registration proof as the Worker found it: a key and the challenge it signed, or what was wrong. */
export type DbscRegistration = { key: DbscKey; jti: string | null; defect?: undefined } | { key?: undefined; defect: string };

export type DbscRegisterResult =
  | { ok: true; sessionId: string; refreshToken: string; cookieExpiresAt: number; challenge: string }
  /** The cookie names no live session (expired, revoked, rotated out). */
  | { ok: false; code: "invalid_refresh_token" }
  | { ok: false; code: "dbsc_registration_refused"; reason: DbscRegistrationRefusal };

export type DbscRegistrationRefusal = "already_bound" | "stale_challenge" | "invalid_proof";

/** A refresh request (`Sec-Secure-Session-Id` already checked and routed by the Worker). */
export interface DbscRefreshRequest {
  sessionId: string;
  /** The `Secure-Session-Response` JWT, or null when the browser sent none. */
  proof: string | null;
  /** The URL the proof was sent to, for an `aud` claim (legacy drafts; Chromium behind a flag). */
  audience: string;
  /** The DBSC session identifier the browser names, for a legacy proof's `sub` claim. */
  identifier: string;
  /** The session's refresh cookie, when the browser still held one (genuine, of this session). */
  presented: string | null;
}

export type DbscRefreshResult =
  | { ok: true; refreshToken: string; cookieExpiresAt: number; challenge: string }
  /** No proof, or a proof over a challenge that is not (or no longer) this session's: sign this one (403). */
  | { ok: false; code: "dbsc_challenge"; challenge: string }
  /** A proof that is not by the session's key: the browser's DBSC session ends (401). */
  | { ok: false; code: "invalid_dbsc_proof" }
  /** Revoked, expired, idle or unknown: the browser's DBSC session ends and its cookie goes. */
  | { ok: false; code: "session_ended" }
  /** A live session that is not DBSC-bound: the browser's DBSC session ends, its cookie stays. */
  | { ok: false; code: "not_bound" }
  | { ok: false; code: "rate_limited"; retryAfterSeconds: number };

/** The reasons `Secure-Session-Skipped` may carry (the spec's three; anything else is dropped). */
export const DBSC_SKIP_REASONS = ["unreachable", "server_error", "quota_exceeded"] as const;
export type DbscSkipReason = (typeof DBSC_SKIP_REASONS)[number];
