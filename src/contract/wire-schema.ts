import { z } from "zod";
import type {
  DeviceJson,
  PasskeyJson,
  PlaceJson,
  PositionJson,
  RevokedBy,
  RevokeReason,
  RiskFinding,
  RiskNoticeJson,
  SecurityEvent,
  SessionJson,
} from "./wire";

/**
 * The wire shapes of wire.ts as zod schemas, for the OpenAPI document (the `id`s name its
 * components) and for the handlers' typed responses. wire.ts stays types only, because the browser
 * side's types are emitted from it; the checks at the end fail to compile the moment a schema and
 * its type differ in any field, so the document cannot drift from what the service sends.
 *
 * One file past 300 lines on purpose: the security-event union is one schema (one member per
 * event type), and the compile-time checks at the end must see every schema beside its type.
 */

const text = z.string().nullable();
const iso = z.iso.datetime().meta({ description: "ISO 8601, UTC" });

export const Device = z
  .object({
    name: z.string().meta({ description: "The name the client gave, or one made from the user agent" }),
    browser: text,
    os: text,
    type: text.meta({ description: "`desktop`, `mobile`, `tablet`, … as the user agent says" }),
  })
  .strict()
  .meta({ id: "Device", description: "A device as sessions and events describe it. Unknown fields are `null`, never omitted." });

export const Place = z
  .object({
    ip: text,
    country: text,
    region: text,
    city: text,
    latitude: z.number().nullable(),
    longitude: z.number().nullable(),
    colo: text,
    asn: z.number().int().nullable(),
  })
  .strict()
  .meta({ id: "Place", description: "Where a request came from: the client IP Cloudflare saw and its geolocation." });

export const SignInMethod = z.enum(["password", "passkey"]);

/** A passkey as security events name it. */
export const PasskeyRef = z.object({ id: z.string(), name: z.string() }).strict().meta({ id: "PasskeyRef" });

export const Passkey = z
  .object({
    id: z.string().meta({ description: "The credential id (base64url), as the authenticator reports it" }),
    name: z.string(),
    created_at: iso,
    last_used_at: iso.nullable(),
    backed_up: z.boolean().meta({ description: "The authenticator says the key is backed up (synced) elsewhere (WebAuthn BS flag)" }),
    transports: z.array(z.string()).meta({ description: "AuthenticatorTransport hints from the registration" }),
  })
  .strict()
  .meta({ id: "Passkey", description: "One of the account's passkeys (WebAuthn credentials)" });

export const Session = z
  .object({
    id: z.string().meta({ example: "ses_0123456789abcdefghijkl" }),
    current: z.boolean().meta({ description: "True for the session of the calling token; false where there is no caller (admin)" }),
    device: Device,
    ip: text,
    location: z.object({ country: text, region: text, city: text }).strict(),
    created_at: iso,
    last_active_at: iso,
    expires_at: iso,
    sign_in_method: SignInMethod.meta({ description: "How the session was signed in; a later step-up does not change it" }),
    binding: z.enum(["none", "dpop", "dbsc"]).meta({
      description:
        "What the session is bound to: nothing (bearer tokens), a DPoP key (RFC 9449), or a key its browser keeps (DBSC), which renews its short-lived refresh cookie",
    }),
    confirmed: z.boolean().meta({
      description:
        "False between a sign-in and its answer leaving the service (or the session's first use), usually milliseconds; a session whose sign-in answer was lost in a crash stays false and is ended within 5 minutes (`sign_in_unanswered`)",
    }),
  })
  .strict()
  .meta({ id: "Session", description: "A signed-in device. Unknown fields are `null`, never omitted." });

const REVOKE_REASONS = [
  "signed_out",
  "revoked_by_other_device",
  "signed_out_everywhere",
  "password_changed",
  "refresh_token_reuse",
  "session_limit",
  "sign_in_unanswered",
  "takeover_reported",
  "admin",
  "service",
] as const satisfies readonly RevokeReason[];
export const RevokeReasonSchema = z.enum(REVOKE_REASONS).meta({ id: "RevokeReason" });

const REVOKED_BY = [
  "user",
  "other_device",
  "password_change",
  "policy",
  "reuse_detection",
  "admin",
  "service",
] as const satisfies readonly RevokedBy[];

const Position = z
  .object({
    at: iso,
    country: text,
    region: text,
    city: text,
    latitude: z.number(),
    longitude: z.number(),
    asn: z.number().int().nullable(),
  })
  .strict()
  .meta({ id: "Position" });

const network = z.object({ country: text, asn: z.number().int().nullable() }).strict();

export const RiskFindingSchema = z.enum([
  "new_device",
  "impossible_travel",
  "session_network_changed",
] as const satisfies readonly RiskFinding[]);

const NoticeAnswer = z
  .object({
    notice_id: z.string(),
    findings: z.array(RiskFindingSchema),
    device: Device,
    via: z.enum(["device", "link"]).meta({ description: "On one of the user's devices, or by the signed link of the webhook event" }),
    answered_by_session_id: z.string().nullable(),
  })
  .strict();

export const RiskNotice = z
  .object({
    id: z
      .string()
      .meta({ description: "The first finding's event id; answering it answers them all", example: "evt_01JD2Q4M5N6P7R8S9T0V" }),
    session_id: z.string(),
    findings: z.array(RiskFindingSchema),
    device: Device,
    location: z.object({ country: text, region: text, city: text }).strict(),
    created_at: iso,
  })
  .strict()
  .meta({ id: "RiskNotice", description: "A “was this you?” notice: the open risk findings about one session." });

/** One variant of the union: the common fields and a `type` with the details it carries. */
const event = <T extends string, D extends z.ZodType>(type: T, details: D, description: string) =>
  z
    .object({
      id: z.string().meta({ example: "evt_01JD2Q4M5N6P7R8S9T0V" }),
      type: z.literal(type),
      created_at: iso,
      session_id: z.string().nullable().meta({ description: "The session the event is about, if any" }),
      details,
    })
    .strict()
    .meta({ description });

export const SecurityEventSchema = z
  .discriminatedUnion("type", [
    event(
      "signed_in",
      z
        .object({
          device: Device,
          place: Place,
          method: SignInMethod.optional().meta({
            description: "Absent from sign-ins recorded before passkeys existed (password sign-ins)",
          }),
          passkey: PasskeyRef.nullable().optional(),
        })
        .strict(),
      "A new session.",
    ),
    event(
      "sign_in_failed",
      z.object({ device: Device, place: Place, known_device: z.boolean() }).strict(),
      "A wrong password for this account at sign-in; never the password nor the email as typed. `known_device`: the attempt carried this account's device credential.",
    ),
    event(
      "password_check_failed",
      z.object({ device: Device, place: Place }).strict(),
      "A wrong `current_password` on a password change, from the session the event names.",
    ),
    event(
      "account_disabled",
      z.object({ actor: z.literal("admin"), sessions_ended: z.number().int() }).strict(),
      "An operator disabled the account through the admin API.",
    ),
    event("account_enabled", z.object({ actor: z.literal("admin") }).strict(), "An operator enabled the account through the admin API."),
    event(
      "account_reconciled",
      z.object({ actor: z.literal("admin"), live_sessions: z.number().int().nonnegative() }).strict(),
      "An operator repaired the account's D1 mirror through the admin API; no session changed.",
    ),
    event(
      "sign_in_refused",
      z.object({ reason: z.literal("session_limit"), max_sessions: z.number().int(), device: Device, place: Place }).strict(),
      "A correct password refused by the session-limit policy.",
    ),
    event(
      "new_device",
      z.object({ fingerprint: z.string(), device: Device, place: Place }).strict(),
      "A sign-in from a kind of device this user has not used before.",
    ),
    event(
      "impossible_travel",
      z
        .object({
          from: Position,
          to: Position,
          distance_km: z.number(),
          elapsed_seconds: z.number(),
          speed_kmh: z.number(),
          limit_kmh: z.number(),
        })
        .strict(),
      "Consecutive activity faster than IMPOSSIBLE_TRAVEL_KMH.",
    ),
    event(
      "session_network_changed",
      z.object({ changed: z.array(z.enum(["country", "asn"])), from: network, to: network, place: Place }).strict(),
      "A session refreshed from another country or network (ASN).",
    ),
    event(
      "refresh_token_reuse",
      z.object({ presented_generation: z.number().int(), current_generation: z.number().int(), device: Device, place: Place }).strict(),
      "A rotated-out refresh token came back; the session was ended.",
    ),
    event(
      "session_revoked",
      z
        .object({ reason: RevokeReasonSchema, revoked_by: z.enum(REVOKED_BY), by_session_id: z.string().nullable(), device: Device })
        .strict(),
      "A session ended before its time, with who ended it.",
    ),
    event(
      "password_changed",
      z.object({ other_sessions_signed_out: z.number().int().nullable(), place: Place }).strict(),
      "The password changed; `other_sessions_signed_out` is null when the caller kept them.",
    ),
    event(
      "dpop_proof_rejected",
      z
        .object({
          reason: z.enum(["missing", "invalid", "wrong_key", "replayed"]),
          endpoint: z.enum(["auth_refresh", "oauth_token"]),
          key_thumbprint: z.string().nullable(),
          device: Device,
          place: Place,
        })
        .strict(),
      "A genuine refresh token of a DPoP-bound session came without a proof by its key: refused, the session left as it was.",
    ),
    event(
      "passkey_added",
      z.object({ passkey: PasskeyRef, backed_up: z.boolean(), device: Device, place: Place }).strict(),
      "A passkey was registered, from the session the event names.",
    ),
    event(
      "passkey_removed",
      z.object({ passkey: PasskeyRef, device: Device, place: Place }).strict(),
      "A passkey was removed, from the session the event names.",
    ),
    event(
      "passkey_counter_regressed",
      z.object({ passkey: PasskeyRef, stored_counter: z.number().int(), presented_counter: z.number().int(), place: Place }).strict(),
      "A correctly signed assertion whose signature counter did not go up: the key may have been copied; the ceremony was refused.",
    ),
    event(
      "dbsc_registered",
      z.object({ algorithm: z.enum(["ES256", "RS256"]), key_thumbprint: z.string(), device: Device, place: Place }).strict(),
      "The session was bound to a key its browser keeps (DBSC): its refresh cookie is now short-lived, renewed only by a proof of that key.",
    ),
    event(
      "dbsc_rejected",
      z
        .object({
          reason: z.enum(["invalid_proof", "already_bound", "stale_challenge", "wrong_key", "cookie_lapsed"]),
          endpoint: z.enum(["dbsc_register", "dbsc_refresh", "auth_refresh", "oauth_token"]),
          key_thumbprint: z.string().nullable(),
          device: Device,
          place: Place,
        })
        .strict(),
      "DBSC refused a registration, a refresh proof not by the session's key, or the refresh cookie after its deadline; the session left as it was.",
    ),
    event(
      "dbsc_refresh_skipped",
      z.object({ reason: z.enum(["unreachable", "server_error", "quota_exceeded"]), device: Device, place: Place }).strict(),
      "The browser reported (Secure-Session-Skipped, unauthenticated) a request sent without renewing the bound cookie.",
    ),
    event(
      "risk_acknowledged",
      NoticeAnswer,
      "“Yes, it was me”: the user answered a “was this you?” notice about one session's risk findings.",
    ),
    event(
      "takeover_reported",
      NoticeAnswer.extend({ session_signed_out: z.boolean() }).strict(),
      "“No, sign it out”: the user said a flagged sign-in was not them; that session was ended (if it had not already).",
    ),
  ])
  .meta({ id: "SecurityEvent", description: "One entry of the security history. Stable: clients branch on `type`." });

// Compile-time: each schema's output is exactly its wire.ts type (a difference in any field fails `tsc`).
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const exactly = <_ extends true>() => undefined;
exactly<Same<z.output<typeof Device>, DeviceJson>>();
exactly<Same<z.output<typeof Place>, PlaceJson>>();
exactly<Same<z.output<typeof Position>, PositionJson>>();
exactly<Same<z.output<typeof Session>, SessionJson>>();
exactly<Same<z.output<typeof Passkey>, PasskeyJson>>();
exactly<Same<z.output<typeof SecurityEventSchema>, SecurityEvent>>();
exactly<Same<z.output<typeof RiskNotice>, RiskNoticeJson>>();
exactly<Same<(typeof REVOKE_REASONS)[number], RevokeReason>>();
exactly<Same<(typeof REVOKED_BY)[number], RevokedBy>>();
