import type { SessionInfo } from "../../consumer/rpc";
import type { RevokedBy, RevokeReason, SessionJson } from "./wire";

export type { RevokedBy, RevokeReason, SessionJson } from "./wire";

/** Wire times are ISO 8601 in UTC; the registry and D1 keep epoch milliseconds. */
export const iso = (ms: number) => new Date(ms).toISOString();

/** A session as the registry answers for it: the shape other Workers receive over RPC (consumer/rpc.ts). */
export type SessionView = SessionInfo;

const REVOKED_BY: Record<RevokeReason, RevokedBy> = {
  signed_out: "user",
  signed_out_everywhere: "user",
  revoked_by_other_device: "other_device",
  password_changed: "password_change",
  session_limit: "policy",
  sign_in_unanswered: "policy",
  refresh_token_reuse: "reuse_detection",
  takeover_reported: "user",
  admin: "admin",
  service: "service",
};

export function revokedBy(reason: RevokeReason): RevokedBy {
  return REVOKED_BY[reason];
}

/** `current` marks the caller's own session; pass null where there is no caller (the live channel, admin). */
export function sessionJson(session: SessionView, currentSessionId: string | null): SessionJson {
  return {
    id: session.id,
    current: session.id === currentSessionId,
    device: session.device,
    ip: session.ip,
    location: session.location,
    created_at: iso(session.createdAt),
    last_active_at: iso(session.lastActiveAt),
    expires_at: iso(session.expiresAt),
    binding: session.binding,
    sign_in_method: session.signInMethod,
    confirmed: session.confirmed,
  };
}
