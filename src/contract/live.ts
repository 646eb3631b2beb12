/**
 * The live channel's protocol (docs/live.md), shared by the Worker (which authenticates the upgrade)
 * and the registry (which holds the sockets and publishes). Frames are JSON text; `LiveEvent` in
 * wire.ts lists them.
 */
export type { LiveEvent } from "./wire";

/** The only subprotocol the server speaks; it is echoed back, never the bearer entry. */
export const LIVE_PROTOCOL = "sessions.v1";
/** The client offers its access token as a second subprotocol entry: `bearer.<jwt>`. */
export const BEARER_PROTOCOL_PREFIX = "bearer.";
/** Set by the Worker on the upgrade it forwards to the registry: the verified session id, nothing else. */
export const LIVE_SESSION_HEADER = "X-Live-Session-Id";

/** Application close codes (RFC 6455 §7.4.2 reserves 4000-4999 for applications). */
export const CLOSE = {
  sessionRevoked: { code: 4001, reason: "session revoked" },
  sessionExpired: { code: 4002, reason: "session expired" },
  replaced: { code: 4008, reason: "too many connections" },
} as const;
