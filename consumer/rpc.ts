/**
 * The RPC contract of the session service's `SessionService` entrypoint. It lives in the consumer
 * package so other Workers get it without importing the service's source; the service declares
 * `implements SessionServiceRpc`, so the two cannot drift apart.
 */

/** The claims of a verified access token (RFC 9068), as the service read them. */
export interface AccessTokenClaims {
  iss: string;
  aud: string | string[];
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  /**
   * When the user last proved who they are in this session (seconds; RFC 9470 §4 / OIDC), and how
   * (RFC 8176 values: `pwd`, or `hwk`/`swk` plus `pin`/`user` for a passkey). Absent only from
   * tokens minted before the service issued them; `requireFresh` treats that as not recent.
   */
  auth_time?: number;
  amr?: string[];
  /** RFC 9449 §6.1: a DPoP-bound token names its key's RFC 7638 thumbprint. */
  cnf?: { jkt: string };
}

/**
 * The request a DPoP-bound token came with (RFC 9449 §7): what its `DPoP` proof must match. Pass it
 * whenever the request has a `DPoP` header or uses the `DPoP` scheme; a bound token without it is refused.
 */
export interface DpopRequestInfo {
  method: string;
  /** The URL the client used (in a Worker, `request.url`). */
  url: string;
  /** The `DPoP` header, as `Headers.get` returns it. */
  dpop: string | null;
}

export type VerifyResult =
  | { ok: true; userId: string; sessionId: string; claims: AccessTokenClaims }
  | { ok: false; code: "invalid_token" | "registry_unavailable" | "service_unavailable" }
  /** A DPoP-bound token whose proof is missing, invalid, another key's or replayed. */
  | { ok: false; code: "invalid_dpop_proof" }
  /** The proof must carry a server nonce: send `nonce` as `DPoP-Nonce` and let the client retry (RFC 9449 §9). */
  | { ok: false; code: "use_dpop_nonce"; nonce: string };

/** A live session as the registry holds it; times are milliseconds since the epoch. */
export interface SessionInfo {
  id: string;
  device: { name: string; browser: string | null; os: string | null; type: string | null };
  ip: string | null;
  location: { country: string | null; region: string | null; city: string | null };
  createdAt: number;
  lastActiveAt: number;
  expiresAt: number;
  /** What the session is bound to: `dpop` when its tokens need a proof of a key the client holds. */
  binding: "none" | "dpop" | "dbsc";
  /** How the session was signed in. */
  signInMethod: "password" | "passkey";
  /**
   * False for the moment between a sign-in and its answer leaving the service (or the session's
   * first use); a session whose answer was lost in a crash stays false and is ended within minutes.
   */
  confirmed: boolean;
}

/** Every failure is a value: a thrown error loses its fields on the way across RPC. */
export type RpcFailure = { ok: false; code: "validation_failed" | "registry_unavailable" | "service_unavailable"; detail?: string };
export type ListSessionsResult = { ok: true; sessions: SessionInfo[] } | RpcFailure;
export type RevokeSessionResult = { ok: true; revoked: boolean } | RpcFailure;
export type RevokeAllSessionsResult = { ok: true; revoked: number } | RpcFailure;

/**
 * A short label saying why a service ended sessions (`fraud_suspected`, `account_locked`):
 * lower-case letters, digits and underscores, 1-32 characters. It is written to the audit log line;
 * the session's own history records `service`.
 */
export const REVOKE_REASON_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;

export interface SessionServiceRpc {
  /**
   * Signature, claims and liveness; for a DPoP-bound token also its proof (`request`), checked with
   * liveness in one registry call. Never throws for a bad token; fails closed.
   */
  verify(token: string, request?: DpopRequestInfo): Promise<VerifyResult>;
  listSessions(userId: string): Promise<ListSessionsResult>;
  revokeSession(userId: string, sessionId: string, reason: string): Promise<RevokeSessionResult>;
  revokeAllSessions(userId: string, reason: string): Promise<RevokeAllSessionsResult>;
}

/**
 * What a consumer declares in its `Env` for a service binding with `"entrypoint": "SessionService"`.
 * Besides the four RPC methods, `fetch` answers only `GET /.well-known/jwks.json`.
 */
export type SessionServiceBinding = SessionServiceRpc & { fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> };
