/**
 * The live channel's protocol (docs/live.md), shared by the Worker (which authenticates the upgrade)
 * and the registry (which holds the sockets and publishes). Frames are JSON text; `LiveEvent` in
 * wire.ts lists the server's, `LiveClientFrame` the one a client may send.
 */
import { type DpopProof, JWK_THUMBPRINT } from "./dpop";

export type { LiveClientFrame, LiveEvent } from "./wire";

/** The only subprotocol the server speaks; it is echoed back, never the bearer entry. */
export const LIVE_PROTOCOL = "sessions.v1";
/** The client offers its access token as a second subprotocol entry: `bearer.<jwt>`. */
export const BEARER_PROTOCOL_PREFIX = "bearer.";
/**
 * A DPoP-bound session's client adds its proof as a third entry: `dpop.<proof JWS>`, a proof for
 * `GET` of the live URL with the token's `ath` (browsers cannot set a `DPoP` header on a WebSocket).
 */
export const DPOP_PROTOCOL_PREFIX = "dpop.";
/** Set by the Worker on the upgrade it forwards to the registry: the verified session id. */
export const LIVE_SESSION_HEADER = "X-Live-Session-Id";
/** Set beside it: the verified token's `exp` (seconds since the epoch). The socket lives no longer. */
export const LIVE_TOKEN_EXP_HEADER = "X-Live-Token-Exp";
/** Set by the Worker beside it for a bound session: the checked proof (JSON `DpopProof`), for the registry's replay check. */
export const LIVE_DPOP_HEADER = "X-Live-Dpop-Proof";
/** On the registry's 401: why (`invalid_token`, `invalid_dpop_proof`, `use_dpop_nonce`). */
export const LIVE_REFUSAL_HEADER = "X-Live-Refusal";

export function liveProofHeader(proof: DpopProof): string {
  return JSON.stringify(proof);
}

/** The proof the Worker forwarded, or null (none, or not one: the registry then checks liveness alone). */
export function liveProofOf(request: Request): DpopProof | null {
  const value = request.headers.get(LIVE_DPOP_HEADER);
  if (value === null) return null;
  try {
    const { jkt, jti, iat, nonceAt } = JSON.parse(value) as Record<string, unknown>;
    if (typeof jkt !== "string" || !JWK_THUMBPRINT.test(jkt) || typeof jti !== "string" || typeof iat !== "number") return null;
    return { jkt, jti, iat, nonceAt: typeof nonceAt === "number" ? nonceAt : null };
  } catch {
    return null;
  }
}

/**
 * What a client may send, besides the runtime-answered `ping` (RFC 6455 §10.4: an endpoint limits
 * what it accepts). An `authenticate` frame holds one access token (at most 2,048 characters), so
 * 4 KiB is ample; a legitimate client sends one frame per token refresh, so ten a minute is ample.
 */
export const CLIENT_FRAME_LIMITS = { maxBytes: 4096, perWindow: 10, windowMs: 60_000 } as const;

/** Application close codes (RFC 6455 §7.4.2 reserves 4000-4999 for applications). */
export const CLOSE = {
  sessionRevoked: { code: 4001, reason: "session revoked" },
  sessionExpired: { code: 4002, reason: "session expired" },
  tokenExpired: { code: 4003, reason: "token expired" },
  tokenRefused: { code: 4004, reason: "token refused" },
  replaced: { code: 4008, reason: "too many connections" },
  frameTooLarge: { code: 4009, reason: "frame too large" },
  tooManyFrames: { code: 4029, reason: "too many frames" },
  tryAgain: { code: 4013, reason: "try again later" },
} as const;

/**
 * The Worker's check of an access token presented over an open socket (an `authenticate` frame):
 * signature and claims, the same code as every route (src/worker/live/token-check.ts). The
 * registry holds no signing keys, so it asks the Worker through its loopback binding
 * (`ctx.exports.LiveTokenCheck`); liveness it judges itself, where revocation happens.
 */
export interface LiveTokenCheckRpc {
  verify(token: string): Promise<LiveTokenVerdict>;
}

export type LiveTokenVerdict =
  | { ok: true; userId: string; sessionId: string; expiresAt: number }
  | { ok: false; code: "invalid_token" | "service_unavailable" };
