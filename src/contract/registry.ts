import type { AuthContext, RegistrationResponseJSON, SignInProof, StepUpProof } from "./auth";
import type { DbscRefreshRequest, DbscRefreshResult, DbscRegisterResult, DbscRegistration, DbscSkipReason } from "./dbsc";
import type { DpopProof } from "./dpop";
import type { PasskeyChallenge, PasskeyListResult, PasskeyRejected, PasskeyResult } from "./passkeys";
import type { DeviceInfo, Place } from "./place";
import type { SessionView } from "./session";
import type { NoticeAnswer, RiskNoticeJson } from "./wire";

/**
 * The surface of a user's `SessionRegistry` (src/registry/), the only writer of that user's
 * session state. The Worker reaches it only through this interface; `SessionRegistry implements`
 * it. Every answer is a value: a thrown error loses its fields on the way across RPC, and a call
 * that cannot be answered at all (the object unreachable) is the caller's to fail closed on.
 *
 * Methods are named by who calls them:
 * - `session…`: one of the user's sessions acting for itself (`actor`, proven by its access token,
 *   and for a DPoP-bound session by a proof of its key too); each refuses an actor that is not live,
 *   or whose proof is not the session's key or was seen before, except `sessionSignOut`, which is
 *   idempotent;
 * - sign-in, refresh and refresh-token sign-out: a credential, not a session, is presented;
 * - `dbsc…`: a browser's DBSC machinery, with the session's cookie or a proof of its key (docs/dbsc.md);
 * - `trusted…` and `admin…`: trusted code on the user's behalf (the RPC entrypoint, the admin API).
 */
export interface SessionRegistryRpc
  extends SessionCalls,
    PasskeyCalls,
    CredentialCalls,
    DbscCalls,
    TrustedCalls,
    Rpc.DurableObjectBranded {}

/**
 * The session a call acts for: its id, or (a DPoP-bound session's access token) its id and the
 * proof that came with the request, whose key and `jti` the registry checks in the same step as
 * liveness (RFC 9449 §4.3 steps 12-13 are the registry's; everything else is checked before).
 */
export type Actor = string | { sessionId: string; dpop: DpopProof };

export function actorId(actor: Actor): string {
  return typeof actor === "string" ? actor : actor.sessionId;
}

export interface SessionCalls {
  /** The per-request liveness check (and replay check of a proof): memory only, no storage read. */
  sessionCheck(actor: Actor): Checked;
  sessionGet(actor: Actor): SessionResult;
  /** The user's live sessions, most recently active first. */
  sessionList(actor: Actor): SessionListResult | Refused;
  /**
   * Ends one of the user's sessions that has not ended: live or idle (an idle one is not listed,
   * but left unrevoked a longer idle timeout would bring it back); the actor's own included.
   */
  sessionRevoke(actor: Actor, target: string): Promise<Revoked | Refused | NotFound>;
  sessionRename(actor: Actor, target: string, name: string): Promise<SessionResult | NotFound>;
  /** Ends every session but the actor's, idle ones included (logout-others); counts them. */
  sessionRevokeOthers(actor: Actor, reason: "revoked_by_other_device"): Promise<Revoked | Refused>;
  /** Ends every session, idle ones and the actor's too (logout-all). */
  sessionRevokeAll(actor: Actor): Promise<Revoked | Refused>;
  /** Logout with an access token: ends the session if it has not ended already. */
  sessionSignOut(actor: string): Promise<Revoked>;
  /**
   * A password change, whole, in one transaction (docs/storage-schema.md, "Crash consistency"):
   * the new time refuses sign-ins that checked the old password, the other sessions end (unless
   * kept), `password_changed` is recorded, and the new hash is queued for D1, which the registry's
   * outbox writes now and retries from its alarm. By id, not proof: the request's proof was spent
   * on its liveness check. `invalid_credentials` when another change landed after the caller read
   * the password it checked.
   */
  sessionChangePassword(actor: string, change: PasswordChange): Promise<PasswordChanged | Refused | InvalidCredentials>;
  /**
   * A wrong `current_password` on a password change by this session: recorded as
   * `password_check_failed` with the session's device. By id, not proof: the request's proof was
   * already spent on its liveness check.
   */
  sessionPasswordCheckFailed(actor: string, place: Place): Promise<Checked>;
  /** Before a history read from D1: pushes (or joins a push of) everything D1 still lacks. */
  sessionMirrorHistory(actor: Actor): Promise<{ ok: true; mirrored: boolean } | Refused>;
  /**
   * Step-up (RFC 9470): renews the actor's `auth_time` and `amr` after a fresh proof; no new
   * session. A passkey assertion is checked here against the challenge this session was given.
   */
  sessionReauthenticate(
    actor: Actor,
    proof: StepUpProof,
    place: Place,
  ): Promise<{ ok: true; auth: AuthContext } | Refused | InvalidCredentials>;
  /** The open "was this you?" notices (docs/devices.md), one per flagged session. */
  sessionNotices(actor: Actor): { ok: true; notices: RiskNoticeJson[] } | Refused;
  /**
   * Answers a notice: "confirmed" acknowledges it, "reported" also ends the flagged session. Once:
   * an answered notice is refused, whoever asks.
   */
  sessionAnswerNotice(actor: Actor, noticeId: string, answer: NoticeAnswer): Promise<NoticeAnswered | Refused | NotFound | NoticeSpent>;
}

/**
 * The account's passkeys (WebAuthn), managed by one of its sessions. Adding or removing one is a
 * change to the ways into the account: the Worker asks for a recent proof before it calls these.
 */
export interface PasskeyCalls {
  /** A single-use challenge for this session, replacing any earlier one for the same purpose. */
  sessionPasskeyChallenge(actor: Actor, purpose: "registration" | "reauthentication"): PasskeyChallenge | Refused;
  /** Verifies a registration answering this session's registration challenge, and stores the passkey. */
  sessionPasskeyRegister(
    actor: Actor,
    registration: { response: RegistrationResponseJSON; name: string | null; place: Place },
  ): Promise<PasskeyResult | Refused | PasskeyRejected>;
  sessionPasskeyList(actor: Actor): PasskeyListResult | Refused;
  sessionPasskeyRename(actor: Actor, passkeyId: string, name: string): Promise<PasskeyResult | Refused | NotFound>;
  sessionPasskeyRemove(actor: Actor, passkeyId: string, place: Place): Promise<{ ok: true } | Refused | NotFound>;
}

export interface CredentialCalls {
  /**
   * Starts a session: records it and its first refresh token (hash only) before returning either.
   * The caller picks the session id, so if the answer is lost it can still end the session.
   */
  signIn(input: SignIn): Promise<SignInResult>;
  /**
   * The Worker has handed the sign-in's answer to the runtime: the session is confirmed. A session
   * that is neither confirmed so nor used within `UNANSWERED_SIGN_IN_MS` of its creation was never
   * received by anyone, and the alarm ends it (`sign_in_unanswered`). Best effort, after the answer.
   */
  signInAnswered(sessionId: string): Promise<{ ok: true }>;
  /**
   * Rotates a refresh token (RFC 9700 §4.14.2): current, grace retry, or reuse that ends the
   * session. A DPoP-bound session's refresh needs a proof by its key (`proof`); without one it is
   * refused and recorded, and the session stays exactly as it was.
   */
  refresh(presented: string, place: Place, proof?: RefreshProof): Promise<RefreshResult>;
  /** Logout with a refresh cookie: any genuine token of the session ends it. */
  signOutByRefreshToken(presented: string): Promise<Revoked>;
  /**
   * A wrong password for this (existing) account at sign-in: recorded as `sign_in_failed`. The
   * Worker never calls it for an unknown email, so no registry exists for one.
   */
  signInFailed(attempt: FailedSignIn): Promise<{ ok: true }>;
}

/**
 * Device Bound Session Credentials (W3C WebAppSec DBSC): a cookie sign-in offers registration
 * (`SignIn.offerDbsc`); these are the browser's calls that follow. Each decides in one step with
 * the session's liveness (revocation, idle and absolute expiry), and none ends a session: a proof
 * that fails is refused and recorded, nothing more.
 */
export interface DbscCalls {
  /**
   * Binds the session of a presented refresh cookie to the browser's key, once: the proof must sign
   * one of the session's outstanding registration challenges. The cookie rotates into the bound one.
   */
  dbscRegister(presented: string, registration: DbscRegistration, place: Place): Promise<DbscRegisterResult>;
  /** Renews a bound session's cookie on a proof by its key over one of its challenges, or issues the challenge to sign. */
  dbscRefresh(request: DbscRefreshRequest, place: Place): Promise<DbscRefreshResult>;
  /** A browser's `Secure-Session-Skipped` report about a bound session: recorded, throttled. */
  dbscSkipped(sessionId: string, reason: DbscSkipReason, place: Place): Promise<{ ok: true; recorded: boolean }>;
}

export interface TrustedCalls {
  trustedList(): SessionListResult;
  trustedRevoke(target: string, by: TrustedActor): Promise<Revoked>;
  /** Ends every session that has not ended, idle ones included. */
  trustedRevokeAll(by: TrustedActor): Promise<Revoked>;
  /**
   * Ends every session, idle ones included (reason "admin"), and refuses new ones until
   * `adminEnable`; the flag reaches D1's `users.disabled_at` through the outbox (`userId` names the
   * registry's user, which may never have signed in). A second call
   * changes nothing and records nothing (`revoked` 0, the first time kept).
   */
  adminDisable(userId: string): Promise<AccountFlag & Revoked>;
  /** Lets sign-ins in again; recorded as `account_enabled` (once), as the disable is as `account_disabled`. */
  adminEnable(userId: string): Promise<AccountFlag & { ok: true }>;
  /** A notice as its signed link shows it (the link was checked by the Worker), answered or not. */
  trustedNotice(noticeId: string): { ok: true; notice: RiskNoticeJson; answer: NoticeAnswer | null } | NotFound;
  /** The answer given through a notice's signed link: the same as on a device, once. */
  trustedAnswerNotice(noticeId: string, answer: NoticeAnswer): Promise<NoticeAnswered | NotFound | NoticeSpent>;
  /** Consistency repair: queues every row for D1 again and pushes it; answers the ids the registry holds. */
  adminRemirror(): Promise<{ ok: true; mirrored: boolean; liveSessionIds: string[] }>;
}

/** Who a trusted call acts as: recorded as the session's revocation reason. */
export type TrustedActor = "service" | "admin";

/** The actor is not live (`invalid_token`), or its DPoP proof is refused: another key, seen before, or made before a restart without a fresh nonce. */
export type Refused = { ok: false; code: "invalid_token" | "invalid_dpop_proof" | "use_dpop_nonce" };
export type NotFound = { ok: false; code: "not_found" };
/** The notice was answered already (on a device, or by one of its links). */
export type NoticeSpent = { ok: false; code: "notice_answered" };
/** `revoked`: how many sessions a "reported" answer ended (0 when the flagged one had ended already). */
export type NoticeAnswered = { ok: true; answer: NoticeAnswer; sessionId: string; revoked: number };
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
  /** A DPoP proof that came with the sign-in: the session is bound to its key for its whole life. */
  dpop?: DpopProof | undefined;
  /** How the user proved who they are; absent means a password the caller checked. A passkey assertion is verified by the registry. */
  proof?: SignInProof;
  /** A cookie sign-in: issue a DBSC registration challenge with the session (`SignInResult.dbscChallenge`). */
  offerDbsc?: boolean | undefined;
}

export type SignInResult =
  | { ok: true; session: SessionView; refreshToken: string; auth: AuthContext; dbscChallenge: string | null }
  | InvalidCredentials
  | { ok: false; code: "session_limit_reached"; maxSessions: number }
  | { ok: false; code: "account_disabled" }
  | { ok: false; code: "credentials_changed" }
  | { ok: false; code: "invalid_dpop_proof" | "use_dpop_nonce" };

/** Where a failed sign-in came from, and whether it carried the account's device credential. */
export interface FailedSignIn {
  device: DeviceInfo;
  place: Place;
  knownDevice: boolean;
}

/**
 * What came with a refresh, for a DPoP-bound session to check: a proof that passed the Worker's
 * checks, or what was wrong (none sent, or one the Worker refused), and which endpoint it was.
 */
export type RefreshProof = { endpoint: RefreshEndpoint } & (
  | { proof: DpopProof; defect?: undefined }
  | { proof: null; defect: "missing" | "invalid"; reason?: string }
);
export type RefreshEndpoint = "auth_refresh" | "oauth_token";

export type RefreshResult =
  /**
   * `jkt`: the session's key, for the access token's `cnf` (null for an unbound session); `auth` is
   * the session's, unchanged: a refresh is not a proof of who the user is.
   * `cookieExpiresAt`: when the refresh cookie should expire: the session's end, or for a DBSC-bound
   * session its cookie's deadline (a refresh never moves that; only a DBSC proof does).
   */
  | {
      ok: true;
      userId: string;
      sessionId: string;
      refreshToken: string;
      expiresAt: number;
      cookieExpiresAt: number;
      jkt: string | null;
      auth: AuthContext;
    }
  | { ok: false; code: "invalid_refresh_token"; reuseDetected: boolean }
  | { ok: false; code: "rate_limited"; retryAfterSeconds: number }
  | { ok: false; code: "invalid_dpop_proof" | "use_dpop_nonce" };

/**
 * A password change, reported once the new hash is in D1. The registry records when, so a sign-in
 * that checked the old password is refused from now on, and ends the sessions created meanwhile
 * (unless the caller keeps its other sessions). If the actor has ended meanwhile, every session
 * ends: the change still stands, and nobody holds the session that made it.
 */
export interface PasswordChange {
  /** The new password, hashed by the Worker (PBKDF2); kept by the registry only until D1 has it. */
  passwordHash: string;
  /** When the password the caller checked was set (D1's `password_changed_at`, 0 if never). */
  credentialsSeenAt: number;
  signOutOthers: boolean;
  place: Place;
}

/**
 * The change stands once this is answered. `changedAt` is the password's new time (D1's
 * `password_changed_at`); `stored` says whether D1 has the new hash yet (if not, the alarm retries,
 * and until then no password signs in: the old one is refused by the registry, the new one is not
 * in D1 yet).
 */
export type PasswordChanged = { ok: true; changedAt: number; revoked: number; stored: boolean };

/** The account's disable flag as the registry now holds it; `mirrored` says whether D1 has it yet (else the alarm retries). */
export type AccountFlag = { disabledAt: number | null; mirrored: boolean };
