import type { AuthContext, RegistrationResponseJSON, SignInProof, StepUpProof } from "./auth";
import type { PasskeyChallenge, PasskeyListResult, PasskeyRejected, PasskeyResult } from "./passkeys";
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
export interface SessionRegistryRpc extends SessionCalls, PasskeyCalls, CredentialCalls, TrustedCalls, Rpc.DurableObjectBranded {}

export interface SessionCalls {
  /** The per-request liveness check: memory only, no storage read. */
  sessionCheck(actor: string): Checked;
  sessionGet(actor: string): SessionResult;
  /** The user's live sessions, most recently active first. */
  sessionList(actor: string): SessionListResult | Refused;
  /** Ends one of the user's live sessions (the actor's own included). */
  sessionRevoke(actor: string, target: string): Promise<Revoked | Refused | NotFound>;
  sessionRename(actor: string, target: string, name: string): Promise<SessionResult | NotFound>;
  /** Ends every session but the actor's (logout-others, password change). */
  sessionRevokeOthers(actor: string, reason: "revoked_by_other_device" | "password_changed"): Promise<Revoked | Refused>;
  /** Ends every session, the actor's too (logout-all). */
  sessionRevokeAll(actor: string): Promise<Revoked | Refused>;
  /** Logout with an access token: ends the session if it has not ended already. */
  sessionSignOut(actor: string): Promise<Revoked>;
  /** After the new password hash is stored: see `PasswordChange`. */
  sessionPasswordChanged(actor: string, change: PasswordChange): Promise<Revoked | Refused>;
  /** Before a history read from D1: pushes (or joins a push of) everything D1 still lacks. */
  sessionMirrorHistory(actor: string): Promise<{ ok: true; mirrored: boolean } | Refused>;
  /**
   * Step-up (RFC 9470): renews the actor's `auth_time` and `amr` after a fresh proof; no new
   * session. A passkey assertion is checked here against the challenge this session was given.
   */
  sessionReauthenticate(
    actor: string,
    proof: StepUpProof,
    place: Place,
  ): Promise<{ ok: true; auth: AuthContext } | Refused | InvalidCredentials>;
}

/**
 * The account's passkeys (WebAuthn), managed by one of its sessions. Adding or removing one is a
 * change to the ways into the account: the Worker asks for a recent proof before it calls these.
 */
export interface PasskeyCalls {
  /** A single-use challenge for this session, replacing any earlier one for the same purpose. */
  sessionPasskeyChallenge(actor: string, purpose: "registration" | "reauthentication"): PasskeyChallenge | Refused;
  /** Verifies a registration answering this session's registration challenge, and stores the passkey. */
  sessionPasskeyRegister(
    actor: string,
    registration: { response: RegistrationResponseJSON; name: string | null; place: Place },
  ): Promise<PasskeyResult | Refused | PasskeyRejected>;
  sessionPasskeyList(actor: string): PasskeyListResult | Refused;
  sessionPasskeyRename(actor: string, passkeyId: string, name: string): Promise<PasskeyResult | Refused | NotFound>;
  sessionPasskeyRemove(actor: string, passkeyId: string, place: Place): Promise<{ ok: true } | Refused | NotFound>;
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
  trustedRevokeAll(by: TrustedActor): Promise<Revoked>;
  /** Ends every session (reason "admin") and refuses new ones until `adminEnable`. */
  adminDisable(): Promise<Revoked>;
  adminEnable(): { ok: true };
  /** Consistency repair: queues every row for D1 again and pushes it; answers the ids the registry holds. */
  adminRemirror(): Promise<{ ok: true; mirrored: boolean; liveSessionIds: string[] }>;
}

/** Who a trusted call acts as: recorded as the session's revocation reason. */
export type TrustedActor = "service" | "admin";

export type Refused = { ok: false; code: "invalid_token" };
export type NotFound = { ok: false; code: "not_found" };
/** A proof that did not hold: the same answer whatever was wrong with it. */
export type InvalidCredentials = { ok: false; code: "invalid_credentials" };
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
  /** How the user proved who they are; absent means a password the caller checked. A passkey assertion is verified by the registry. */
  proof?: SignInProof;
}

export type SignInResult =
  | { ok: true; session: SessionView; refreshToken: string; auth: AuthContext }
  | InvalidCredentials
  | { ok: false; code: "session_limit_reached"; maxSessions: number }
  | { ok: false; code: "account_disabled" }
  | { ok: false; code: "credentials_changed" };

export type RefreshResult =
  /** `auth` is the session's, unchanged: a refresh is not a proof of who the user is. */
  | { ok: true; userId: string; sessionId: string; refreshToken: string; expiresAt: number; auth: AuthContext }
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
