import type { SessionInfo } from "../../consumer/rpc";
import type { RegistryRow } from "./registry-schema";

/**
 * What the registry answers over RPC: result values (never thrown errors, which lose their fields
 * on the way) and the mapping from a stored row to the session shape other Workers receive.
 */

/** Why a session ended; recorded on the session and shown in its history. */
export type RevokeReason =
  | "signed_out" // the session ended itself (logout, or deleted its own entry)
  | "revoked_by_other_device" // another of the user's sessions removed it (device list, logout-others)
  | "signed_out_everywhere" // logout-all
  | "password_changed"
  | "refresh_token_reuse"
  | "session_limit" // evicted by the concurrent-session policy to make room for a new sign-in
  | "admin" // an operator, through the admin API
  | "service"; // another service, through the RPC entrypoint

/** A session as the registry answers for it: the wire shape other Workers receive over RPC (consumer/rpc.ts). */
export type SessionView = SessionInfo;

export type Refused = { ok: false; code: "invalid_token" };
export type CreateSessionResult =
  | { ok: true; session: SessionView; refreshToken: string }
  | { ok: false; code: "session_limit_reached"; maxSessions: number }
  | { ok: false; code: "account_disabled" }
  | { ok: false; code: "credentials_changed" };
export type SessionResult = { ok: true; session: SessionView } | Refused;
export type RefreshResult =
  | { ok: true; userId: string; sessionId: string; refreshToken: string; expiresAt: number }
  | { ok: false; code: "invalid_refresh_token"; reuseDetected: boolean }
  | { ok: false; code: "rate_limited"; retryAfterSeconds: number };

/**
 * A stored row as the registry answers for it. `liveActiveAt` is the activity held in memory,
 * which may be ahead of storage (activity is persisted at most once a minute).
 */
export function sessionView(row: RegistryRow, liveActiveAt: number | undefined): SessionView {
  return {
    id: row.id,
    device: { name: row.device_name, browser: row.browser, os: row.os, type: row.device_type },
    ip: row.ip,
    location: { country: row.country, region: row.region, city: row.city },
    createdAt: row.created_at,
    lastActiveAt: Math.max(row.last_active_at, liveActiveAt ?? 0),
    expiresAt: row.expires_at,
  };
}
