/**
 * The JSON shapes on the wire: HTTP bodies, live-channel frames and webhook bodies. Types only and
 * no imports, so `scripts/client-types.mjs` can emit them for the browser side (`client/wire.d.ts`,
 * which the devices page checks against) exactly as the service defines them.
 */

/** A device as sessions and events describe it. Unknown fields are `null`, never omitted. */
export interface DeviceJson {
  name: string;
  browser: string | null;
  os: string | null;
  type: string | null;
}

/** Where a request came from: the client IP Cloudflare saw and its geolocation. */
export interface PlaceJson {
  ip: string | null;
  country: string | null;
  region: string | null;
  city: string | null;
  latitude: number | null;
  longitude: number | null;
  colo: string | null;
  asn: number | null;
}

/**
 * What a session is bound to: nothing (its tokens are bearer secrets), a DPoP key (RFC 9449) held
 * by the client for the session's whole life, or a DBSC key its browser keeps (W3C DBSC), which
 * renews its short-lived refresh cookie (docs/dbsc.md). A DPoP-bound browser session that registers
 * with DBSC keeps its DPoP key too, and shows "dbsc".
 */
export type SessionBinding = "none" | "dpop" | "dbsc";

/** The HTTP contract's `Session`. */
export interface SessionJson {
  id: string;
  /** True for the session of the calling token; false where there is no caller (live events, admin). */
  current: boolean;
  device: DeviceJson;
  ip: string | null;
  location: { country: string | null; region: string | null; city: string | null };
  created_at: string;
  last_active_at: string;
  expires_at: string;
  binding: SessionBinding;
  /** How the session was signed in; a later step-up (POST /v1/auth/reauthenticate) does not change it. */
  sign_in_method: SignInMethod;
  /** False until its sign-in's answer has left the service or it was first used (docs/api.md, "Session"). */
  confirmed: boolean;
}

/** How a session was started: with the account's password, or with one of its passkeys. */
export type SignInMethod = "password" | "passkey";

/** The contract's `Passkey`: a WebAuthn credential registered to the account. */
export interface PasskeyJson {
  /** The credential id (base64url), as the authenticator reports it. */
  id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
  /** The authenticator says the key is backed up (synced) elsewhere (WebAuthn BS flag). */
  backed_up: boolean;
  /** AuthenticatorTransport hints from the registration, for `allowCredentials`. */
  transports: string[];
}

/** A passkey as security events name it. */
export interface PasskeyRefJson {
  id: string;
  name: string;
}

/** Why a session ended; recorded on the session and shown in its history. */
export type RevokeReason =
  | "signed_out" // the session ended itself (logout, or deleted its own entry)
  | "revoked_by_other_device" // another of the user's sessions removed it (device list, logout-others)
  | "signed_out_everywhere" // logout-all
  | "password_changed"
  | "refresh_token_reuse"
  | "session_limit" // evicted by the concurrent-session policy to make room for a new sign-in
  | "sign_in_unanswered" // its sign-in's answer never left the Worker (docs/storage-schema.md, "Crash consistency")
  | "takeover_reported" // the user answered "No, sign it out" to a "was this you?" notice about it
  | "admin" // an operator, through the admin API
  | "service"; // another service, through the RPC entrypoint

/** Who ended a session, as the history shows it. */
export type RevokedBy = "user" | "other_device" | "password_change" | "policy" | "reuse_detection" | "admin" | "service";

/** Where and when the user was seen with coordinates (impossible-travel evidence). */
export interface PositionJson {
  at: string;
  country: string | null;
  region: string | null;
  city: string | null;
  latitude: number;
  longitude: number;
  asn: number | null;
}

/** Each security event type and the evidence its `details` carry. Stable: clients and webhooks branch on `type`. */
export interface SecurityEventDetails {
  /** A new session; `passkey` names the passkey it was signed in with (null for a password). */
  signed_in: {
    device: DeviceJson;
    place: PlaceJson;
    /** Absent from sign-ins recorded before passkeys existed (all were password sign-ins). */
    method?: SignInMethod;
    passkey?: PasskeyRefJson | null;
  };
  /**
   * A wrong password for this account at sign-in (no session: `session_id` is null). Never the
   * password, nor the email as it was typed. `known_device`: the attempt came with this account's
   * device credential (docs/operations.md, device cookies), so it is one of the user's own devices.
   */
  sign_in_failed: { device: DeviceJson; place: PlaceJson; known_device: boolean };
  /** A wrong `current_password` on a password change, from the session the event names. */
  password_check_failed: { device: DeviceJson; place: PlaceJson };
  /** An operator disabled the account through the admin API; `sessions_ended` counts what it signed out. */
  account_disabled: { actor: "admin"; sessions_ended: number };
  /** An operator enabled the account through the admin API. */
  account_enabled: { actor: "admin" };
  /**
   * An operator ran a consistency repair of the account's D1 mirror through the admin API (no
   * session changed); `live_sessions` counts the sessions the registry held unended.
   */
  account_reconciled: { actor: "admin"; live_sessions: number };
  /** A correct password refused by the session-limit policy. */
  sign_in_refused: { reason: "session_limit"; max_sessions: number; device: DeviceJson; place: PlaceJson };
  /** A sign-in from a kind of device (browser, OS, form factor) this user has not used before. */
  new_device: { fingerprint: string; device: DeviceJson; place: PlaceJson };
  /** Consecutive activity faster than IMPOSSIBLE_TRAVEL_KMH. */
  impossible_travel: {
    from: PositionJson;
    to: PositionJson;
    distance_km: number;
    elapsed_seconds: number;
    speed_kmh: number;
    limit_kmh: number;
  };
  /** A session refreshed from another country or network (ASN). */
  session_network_changed: {
    changed: ("country" | "asn")[];
    from: { country: string | null; asn: number | null };
    to: { country: string | null; asn: number | null };
    place: PlaceJson;
  };
  /** A rotated-out refresh token came back; the session was ended. */
  refresh_token_reuse: { presented_generation: number; current_generation: number; device: DeviceJson; place: PlaceJson };
  /** A session ended before its time, with who ended it. */
  session_revoked: { reason: RevokeReason; revoked_by: RevokedBy; by_session_id: string | null; device: DeviceJson };
  /** The password changed; `other_sessions_signed_out` is null when the caller kept them. */
  password_changed: { other_sessions_signed_out: number | null; place: PlaceJson };
  /**
   * A genuine refresh token of a DPoP-bound session came without a proof by the session's key (none,
   * an invalid one, another key's, or a replayed one): refused, and the session left as it was. A
   * valid refresh token without its key is a sign that it was copied off the device.
   * `key_thumbprint` is the presented key's, when a proof verified.
   */
  dpop_proof_rejected: {
    reason: "missing" | "invalid" | "wrong_key" | "replayed";
    endpoint: "auth_refresh" | "oauth_token";
    key_thumbprint: string | null;
    device: DeviceJson;
    place: PlaceJson;
  };
  /** A passkey was registered, from the session the event names. */
  passkey_added: { passkey: PasskeyRefJson; backed_up: boolean; device: DeviceJson; place: PlaceJson };
  /** A passkey was removed, from the session the event names. */
  passkey_removed: { passkey: PasskeyRefJson; device: DeviceJson; place: PlaceJson };
  /**
   * A correctly signed assertion whose signature counter did not go up (WebAuthn §6.1.1): the key
   * may have been copied. The ceremony was refused.
   */
  passkey_counter_regressed: { passkey: PasskeyRefJson; stored_counter: number; presented_counter: number; place: PlaceJson };
  /**
   * The session was bound to a key its browser keeps (DBSC registration): from now on its refresh
   * cookie lives DBSC_COOKIE_SECONDS, and only a proof by this key renews it.
   */
  dbsc_registered: { algorithm: "ES256" | "RS256"; key_thumbprint: string; device: DeviceJson; place: PlaceJson };
  /**
   * DBSC refused something about a session, which was left as it was: a registration (`invalid_proof`,
   * `already_bound`: a second key for a bound session, `stale_challenge`: a challenge that was not
   * outstanding), a refresh proof not by the session's key (`wrong_key`, `invalid_proof`), or the
   * refresh cookie presented after its deadline (`cookie_lapsed`: a copied cookie, kept past its
   * expiry). `key_thumbprint` is the presented key's, when a registration proof verified.
   */
  dbsc_rejected: {
    reason: "invalid_proof" | "already_bound" | "stale_challenge" | "wrong_key" | "cookie_lapsed";
    endpoint: "dbsc_register" | "dbsc_refresh" | "auth_refresh" | "oauth_token";
    key_thumbprint: string | null;
    device: DeviceJson;
    place: PlaceJson;
  };
  /**
   * The browser reported that it sent a request without renewing the bound cookie
   * (`Secure-Session-Skipped`): the service did not answer in time, or the browser's signing quota
   * ran out. Reported by the browser, unauthenticated; recorded at most once per session in ten minutes.
   */
  dbsc_refresh_skipped: { reason: "unreachable" | "server_error" | "quota_exceeded"; device: DeviceJson; place: PlaceJson };
  /** "Yes, it was me": the user answered a "was this you?" notice (the risk findings about one session). */
  risk_acknowledged: NoticeAnswerJson;
  /** "No, sign it out": the user said a flagged sign-in was not them; that session was ended (if it had not already). */
  takeover_reported: TakeoverReportJson;
}

/** How a "was this you?" notice was answered: on one of the user's devices, or by the signed link of the webhook event. */
export type NoticeAnswerVia = "device" | "link";

/** What an answer to a notice records: which notice and findings, the flagged session's device, and how it was answered. */
export interface NoticeAnswerJson {
  notice_id: string;
  findings: RiskFinding[];
  device: DeviceJson;
  via: NoticeAnswerVia;
  /** The session that answered, for an answer given on a device; null for a link. */
  answered_by_session_id: string | null;
}

export interface TakeoverReportJson extends NoticeAnswerJson {
  session_signed_out: boolean;
}

/**
 * A "was this you?" notice: the open risk findings about one session, shown on every device of the
 * user until answered. `id` is the first finding's event id; answering it answers them all.
 */
export interface RiskNoticeJson {
  id: string;
  session_id: string;
  findings: RiskFinding[];
  device: DeviceJson;
  location: { country: string | null; region: string | null; city: string | null };
  created_at: string;
}

export type NoticeAnswer = "confirmed" | "reported";

export type SecurityEventType = keyof SecurityEventDetails;

/** One entry of `GET /v1/security-events`, and the body of a webhook (which adds `user_id`). */
export type SecurityEvent = {
  [T in SecurityEventType]: { id: string; type: T; created_at: string; session_id: string | null; details: SecurityEventDetails[T] };
}[SecurityEventType];

/** Risk findings, which also reach the user's open devices at once as `suspicious_sign_in`. */
export type RiskFinding = "new_device" | "impossible_travel" | "session_network_changed";

/** Another of the user's sessions, as a revocation names it: its id and its name at the time. */
export interface RevokingDevice {
  session_id: string;
  name: string;
}

/** Why a session ended without being revoked. */
export type ExpiryCause = "lifetime" | "idle";

/** The frames the live channel sends (docs/live.md). Clients ignore types they do not know. */
export type LiveEvent =
  | { type: "session_created"; session: SessionJson }
  /** `by`: the device that ended it, when another of the user's sessions did (logout-others, a password change, a device list). */
  | { type: "session_revoked"; session_id: string; reason: RevokeReason; at: string; by: RevokingDevice | null }
  /** `cause`: the session reached its absolute lifetime, or went unused for the idle timeout. */
  | { type: "session_expired"; session_id: string; reason: "expired"; cause: ExpiryCause; at: string }
  | { type: "suspicious_sign_in"; session_id: string; reasons: RiskFinding[]; at: string }
  /** A "was this you?" notice opened or grew (another finding about the same session): show it. */
  | { type: "risk_notice"; notice: RiskNoticeJson }
  /** A notice was answered, on some device or by its link: every device drops it. */
  | { type: "risk_notice_answered"; notice_id: string; session_id: string; answer: NoticeAnswer; at: string }
  /** A session changed without ending (renamed): its JSON as it now stands, `current: false`. */
  | { type: "session_updated"; session: SessionJson }
  /** The account's passkeys changed (added, renamed, removed): reload `GET /v1/passkeys`. */
  | { type: "passkeys_changed"; at: string }
  /** To the one socket that sent an `authenticate` frame: the token was accepted, the socket now lives until `expires_at`. */
  | { type: "authenticated"; session_id: string; expires_at: string };

/**
 * The one frame a client sends (besides the text `ping`): a fresh access token of the socket's own
 * session, so the socket may outlive the token it was opened with (docs/live.md).
 */
export type LiveClientFrame = { type: "authenticate"; access_token: string };
