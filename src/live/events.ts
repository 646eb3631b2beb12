/**
 * The live channel's vocabulary, shared by the registry (which publishes) and the docs
 * (docs/live.md). Events are JSON text frames; clients ignore types they do not know.
 */

/** The only subprotocol the server speaks; it is echoed back, never the bearer entry. */
export const LIVE_PROTOCOL = "sessions.v1";
/** The client offers its access token as a second subprotocol entry: `bearer.<jwt>`. */
export const BEARER_PROTOCOL_PREFIX = "bearer.";

/** Application close codes (RFC 6455 §7.4.2 reserves 4000-4999 for applications). */
export const CLOSE = {
  sessionRevoked: { code: 4001, reason: "session revoked" },
  sessionExpired: { code: 4002, reason: "session expired" },
  replaced: { code: 4008, reason: "too many connections" },
} as const;

/** A session as the contract shapes it (`current` is always false: it is someone else's). */
export type SessionJson = ReturnType<typeof import("../sessions/view").sessionJson>;

export type LiveEvent =
  | { type: "session_created"; session: SessionJson }
  | { type: "session_revoked" | "session_expired"; session_id: string; reason: string; at: string }
  | { type: "suspicious_sign_in"; session_id: string; reasons: string[]; at: string };

/** What the registry publishes for a risk finding (new device, impossible travel, network change). */
export type PublishableEvent = Extract<LiveEvent, { type: "suspicious_sign_in" }>;
