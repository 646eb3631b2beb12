import type { DeviceInfo, Place } from "./place";
import type { SessionView } from "./session";

/**
 * The surface of a user's `SessionRegistry` (src/registry/), the only writer of that user's
 * session state. The Worker reaches it only through this interface; `SessionRegistry implements`
 * it. Every answer is a value: a thrown error loses its fields on the way across RPC, and a call
 * that cannot be answered at all (the object unreachable) is the caller's to fail closed on.
 *
 * Methods are named by who calls them:
 * - `session…`: one of the user's sessions acting for itself (`actor`, proven by its access token);
 *   each refuses an actor that is not live, except `sessionSignOut`, which is idempotent;
 * - sign-in, refresh and refresh-token sign-out: a credential, not a session, is presented;
 * - `trusted…` and `admin…`: trusted code on the user's behalf (the RPC entrypoint, the admin API).
 */
export interface SessionRegistryRpc extends SessionCalls, CredentialCalls, TrustedCalls, Rpc.DurableObjectBranded {}

export interface SessionCalls {
  /** The per-request liveness check: memory only, no storage read. */
  sessionCheck(actor: string): Checked;
  sessionGet(actor: string): SessionResult;
  /** The user's live sessions, most recently active first. */
  sessionList(actor: string): SessionListResult | Refused;
  /**
   * Ends one of the user's sessions that has not ended: live or idle (an idle one is not listed,
   * but left unrevoked a longer idle timeout would bring it back); the actor's own included.
   */
  sessionRevoke(actor: string, target: string): Promise<Revoked | Refused | NotFound>;
  sessionRename(actor: string, target: string, name: string): Promise<SessionResult | NotFound>;
  /** Ends every session but the actor's, idle ones included (logout-others, password change); counts them. */
  sessionRevokeOthers(actor: string, reason: "revoked_by_other_device" | "password_changed"): Promise<Revoked | Refused>;
  /** Ends every session, idle ones and the actor's too (logout-all). */
  sessionRevokeAll(actor: string): Promise<Revoked | Refused>;
  /** Logout with an access token: ends the session if it has not ended already. */
  sessionSignOut(actor: string): Promise<Revoked>;
  /** After the new password hash is stored: see `PasswordChange`. */
  sessionPasswordChanged(actor: string, change: PasswordChange): Promise<Revoked | Refused>;
  /** Before a history read from D1: pushes (or joins a push of) everything D1 still lacks. */
  sessionMirrorHistory(actor: string): Promise<{ ok: true; mirrored: boolean } | Refused>;
}

export interface CredentialCalls {
  /**
   * Starts a session: records it and its first refresh token (hash only) before returning either.
   * The caller picks the session id, so if the answer is lost it can still end the session.
   */
  signIn(input: SignIn): Promise<SignInResult>;
  /** Rotates a refresh token (RFC 9700 §4.14.2): current, grace retry, or reuse that ends the session. */
  refresh(presented: string, place: Place): Promise<RefreshResult>;
  /** Logout with a refresh cookie: any genuine token of the session ends it. */
  signOutByRefreshToken(presented: string): Promise<Revoked>;
}

export interface TrustedCalls {
  trustedList(): SessionListResult;
  trustedRevoke(target: string, by: TrustedActor): Promise<Revoked>;
  /** Ends every session that has not ended, idle ones included. */
  trustedRevokeAll(by: TrustedActor): Promise<Revoked>;
  /** Ends every session, idle ones included (reason "admin"), and refuses new ones until `adminEnable`. */
  adminDisable(): Promise<Revoked>;
  adminEnable(): { ok: true };
  /** Consistency repair: queues every row for D1 again and pushes it; answers the ids the registry holds. */
  adminRemirror(): Promise<{ ok: true; mirrored: boolean; liveSessionIds: string[] }>;
}

/** Who a trusted call acts as: recorded as the session's revocation reason. */
export type TrustedActor = "service" | "admin";

export type Refused = { ok: false; code: "invalid_token" };
export type NotFound = { ok: false; code: "not_found" };
export type Checked = { ok: true } | Refused;
/** How many sessions the call ended (0 when there was nothing left to end). */
export type Revoked = { ok: true; revoked: number };
export type SessionResult = { ok: true; session: SessionView } | Refused;
export type SessionListResult = { ok: true; sessions: SessionView[] };

export interface SignIn {
  userId: string;
  sessionId: string;
  device: DeviceInfo;
  place: Place;
  /** When the password this sign-in checked was set (0 if never changed): a later change refuses it. */
  credentialsSeenAt: number;
}

export type SignInResult =
  | { ok: true; session: SessionView; refreshToken: string }
  | { ok: false; code: "session_limit_reached"; maxSessions: number }
  | { ok: false; code: "account_disabled" }
  | { ok: false; code: "credentials_changed" };

export type RefreshResult =
  | { ok: true; userId: string; sessionId: string; refreshToken: string; expiresAt: number }
  | { ok: false; code: "invalid_refresh_token"; reuseDetected: boolean }
  | { ok: false; code: "rate_limited"; retryAfterSeconds: number };

/**
 * A password change, reported once the new hash is in D1. The registry records when, so a sign-in
 * that checked the old password is refused from now on, and ends the sessions created meanwhile
 * (unless the caller keeps its other sessions). If the actor has ended meanwhile, every session
 * ends: the change still stands, and nobody holds the session that made it.
 */
export interface PasswordChange {
  changedAt: number;
  signOutOthers: boolean;
  /** How many sessions the first sweep ended (null when the caller kept them). */
  signedOutOthers: number | null;
  place: Place;
}
