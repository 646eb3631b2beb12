import {
  CLIENT_FRAME_LIMITS,
  CLOSE,
  LIVE_PROTOCOL,
  LIVE_SESSION_HEADER,
  LIVE_TOKEN_EXP_HEADER,
  type LiveEvent,
  type LiveTokenVerdict,
} from "../contract/live";
import { iso, type RevokeReason } from "../contract/session";
import type { ExpiryCause, RevokingDevice } from "../contract/wire";

/** Why sessions ended, as their devices are told: revoked (and by which device), or expired (and how). */
export type Ending = { reason: RevokeReason; by: RevokingDevice | null } | { expired: ExpiryCause };

/**
 * Socket bookkeeping for one user's registry. Sockets are accepted with the hibernation API and
 * tagged with their session id, so an idle socket keeps no object in memory, and the registry can
 * find a session's sockets again after it was evicted (`getWebSockets(tag)` survives hibernation).
 *
 * A socket lives no longer than the access token it was opened with (its `exp`), unless the client
 * re-authenticates over it with a fresh token of the same session: a stolen token buys a socket
 * for the token's few minutes, never for as long as the real user keeps the session alive. No
 * frame is sent on a socket past its deadline, whether or not the alarm has closed it yet.
 */

/** One per tab is normal; more than this from one session is a leak or abuse, oldest go first. */
const MAX_SOCKETS_PER_SESSION = 16;

interface Attachment {
  sessionId: string;
  connectedAt: number;
  /** The `exp` (ms) of the newest access token the socket was opened or re-authenticated with. */
  tokenExpiresAt: number;
  /** Client frames counted in the current fixed window (CLIENT_FRAME_LIMITS). */
  windowStartsAt: number;
  framesInWindow: number;
}

/** `idle` and `expired`: still held but lapsed, not yet announced (see `LiveSessions.status`). */
type SessionStatus = (sessionId: string, now: number) => "live" | "idle" | "expired" | "ended";

/** What handling a client frame needs from the registry. */
export interface FrameDeps {
  /** The session's state, judged without counting the frame as activity. */
  status: SessionStatus;
  /** Signature and claims of a presented access token (the Worker's check, over the loopback). */
  verify: (token: string) => Promise<LiveTokenVerdict>;
  userId: () => string | null;
  /** A socket's deadline moved to `at`: the alarm must run by then. */
  deadlineAt: (at: number) => void;
}

export class LiveSockets {
  constructor(
    private readonly ctx: DurableObjectState,
    private readonly now: () => number,
  ) {
    // Keepalive pings are answered by the runtime itself, without waking a hibernated object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /** The session id and token deadline (ms) of a forwarded upgrade, or null when the request is not one. */
  static upgradeOf(request: Request): { sessionId: string; tokenExpiresAt: number } | null {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") return null;
    const sessionId = request.headers.get(LIVE_SESSION_HEADER);
    const exp = Number(request.headers.get(LIVE_TOKEN_EXP_HEADER) ?? Number.NaN);
    if (sessionId === null || !Number.isSafeInteger(exp)) return null;
    return { sessionId, tokenExpiresAt: exp * 1000 };
  }

  /** Accepts a socket for a session the registry has just confirmed live, until its token's deadline. */
  accept(sessionId: string, tokenExpiresAt: number): Response {
    const existing = this.ctx.getWebSockets(sessionId).sort((a, b) => attachmentOf(a).connectedAt - attachmentOf(b).connectedAt);
    for (const old of existing.slice(0, Math.max(0, existing.length - MAX_SOCKETS_PER_SESSION + 1))) closeQuietly(old, CLOSE.replaced);
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [sessionId]);
    const now = this.now();
    server.serializeAttachment({
      sessionId,
      connectedAt: now,
      tokenExpiresAt,
      windowStartsAt: now,
      framesInWindow: 0,
    } satisfies Attachment);
    // Echo only our protocol: the `bearer.` entry the client also offered must never come back.
    return new Response(null, { status: 101, webSocket: client, headers: { "Sec-WebSocket-Protocol": LIVE_PROTOCOL } });
  }

  /** Sends an event to every socket of the user, or only to those of the given sessions. */
  publish(event: LiveEvent, toSessionIds?: readonly string[]): void {
    const now = this.now();
    const sockets = toSessionIds ? toSessionIds.flatMap((id) => this.ctx.getWebSockets(id)) : this.ctx.getWebSockets();
    const frame = JSON.stringify(event);
    for (const socket of sockets) if (withinDeadline(socket, now)) sendQuietly(socket, frame);
  }

  /**
   * Sessions just ended: each one's own sockets hear why and are closed, and every other socket
   * of the user hears it too, so device lists drop the entry without polling.
   */
  ended(sessionIds: readonly string[], why: Ending, now: number): void {
    const at = iso(now);
    const frameOf = (id: string): LiveEvent =>
      "expired" in why
        ? { type: "session_expired", session_id: id, reason: "expired", cause: why.expired, at }
        : // A session that ended itself was not ended "by another device".
          { type: "session_revoked", session_id: id, reason: why.reason, at, by: why.by?.session_id === id ? null : why.by };
    const frames = sessionIds.map((id) => JSON.stringify(frameOf(id)));
    const close = "expired" in why ? CLOSE.sessionExpired : CLOSE.sessionRevoked;
    for (const socket of this.ctx.getWebSockets()) {
      if (!withinDeadline(socket, now)) continue;
      for (const frame of frames) sendQuietly(socket, frame);
      if (sessionIds.includes(attachmentOf(socket).sessionId)) closeQuietly(socket, close);
    }
  }

  /**
   * Sessions reached their expiry. Sockets of sessions the registry no longer holds at all are
   * included: an object that was evicted reloads only live sessions, while hibernated sockets of
   * sessions that expired meanwhile are still attached to it.
   */
  expired(sessionIds: readonly string[], isLive: (sessionId: string) => boolean, now: number): void {
    const orphans = this.ctx
      .getWebSockets()
      .map((socket) => attachmentOf(socket).sessionId)
      .filter((id) => !isLive(id));
    const ending = [...new Set([...sessionIds, ...orphans])];
    if (ending.length > 0) this.ended(ending, { expired: "lifetime" }, now);
  }

  /**
   * The alarm's pass over the sockets' deadlines. A socket whose token has expired is closed with
   * 4003 (its session goes on: only this socket's authority ended). A session that went idle with
   * a socket open is ended like an expired one: its sockets hear `session_expired` and close with
   * 4002, and every other socket hears it too. `idleAt` answers when a session goes idle as of its
   * latest activity (null for one the registry no longer holds, which `expired` covers), so a
   * session used since the alarm was set is left open. Returns the earliest deadline (token or
   * idle) among the sockets that stay open, or null.
   */
  sweep(idleAt: (sessionId: string) => number | null, now: number): number | null {
    let next: number | null = null;
    const open = this.ctx.getWebSockets().filter((socket) => withinDeadline(socket, now));
    const ending: string[] = [];
    for (const socket of open) next = earliest(next, attachmentOf(socket).tokenExpiresAt);
    for (const sessionId of new Set(open.map((socket) => attachmentOf(socket).sessionId))) {
      const at = idleAt(sessionId);
      if (at === null) continue;
      if (at <= now) ending.push(sessionId);
      else next = earliest(next, at);
    }
    if (ending.length > 0) this.ended(ending, { expired: "idle" }, now);
    return next;
  }

  /**
   * A client frame (the runtime answers `ping` itself). Frames never count as the session's
   * activity: a socket must not keep a session from going idle. Each is measured against
   * CLIENT_FRAME_LIMITS, then re-checks its session: one that lapsed (idle or expired) before the
   * alarm got to it is ended here as the alarm would end it, `session_expired` to every socket and
   * 4002; an ended one (revoked: its event went out when that happened) is closed with 4001. An
   * `authenticate` frame then moves the socket's deadline to its token's `exp`, if the Worker's
   * check passes and the token is of this very session; any other token closes the socket (4004).
   * Any other frame is ignored.
   */
  async onMessage(socket: WebSocket, message: string | ArrayBuffer, deps: FrameDeps): Promise<void> {
    const now = this.now();
    const attachment = attachmentOf(socket);
    if (!withinDeadline(socket, now)) return;
    if (frameBytes(message) > CLIENT_FRAME_LIMITS.maxBytes) return closeQuietly(socket, CLOSE.frameTooLarge);
    if (!countFrame(socket, attachment, now)) return closeQuietly(socket, CLOSE.tooManyFrames);
    if (!this.#stillLive(socket, attachment.sessionId, deps.status, now)) return;
    const token = authenticateToken(message);
    if (token === undefined) return;
    if (token === null) return closeQuietly(socket, CLOSE.tokenRefused);

    const verdict = await deps.verify(token).catch((): LiveTokenVerdict => ({ ok: false, code: "service_unavailable" }));
    if (!verdict.ok) return closeQuietly(socket, verdict.code === "service_unavailable" ? CLOSE.tryAgain : CLOSE.tokenRefused);
    if (verdict.sessionId !== attachment.sessionId || verdict.userId !== deps.userId()) return closeQuietly(socket, CLOSE.tokenRefused);
    // After the await: the session may have been revoked, or the socket closed, meanwhile.
    const later = this.now();
    if (!withinDeadline(socket, later) || !this.#stillLive(socket, attachment.sessionId, deps.status, later)) return;
    const current = attachmentOf(socket);
    current.tokenExpiresAt = Math.max(current.tokenExpiresAt, verdict.expiresAt);
    socket.serializeAttachment(current);
    deps.deadlineAt(current.tokenExpiresAt);
    sendQuietly(
      socket,
      JSON.stringify({ type: "authenticated", session_id: current.sessionId, expires_at: iso(current.tokenExpiresAt) } satisfies LiveEvent),
    );
  }

  /** Completes the closing handshake the client started (a no-op where the runtime already did). */
  onClose(socket: WebSocket, code: number): void {
    // 1005/1006 are "no code" markers that must not be sent on the wire (RFC 6455 §7.4.1).
    closeQuietly(socket, { code: code === 1005 || code === 1006 ? 1000 : code, reason: "" });
  }

  #stillLive(socket: WebSocket, sessionId: string, status: SessionStatus, now: number): boolean {
    const state = status(sessionId, now);
    if (state === "idle" || state === "expired") this.ended([sessionId], { expired: state === "idle" ? "idle" : "lifetime" }, now);
    else if (state === "ended") closeQuietly(socket, CLOSE.sessionRevoked);
    return state === "live";
  }
}

function attachmentOf(socket: WebSocket): Attachment {
  return socket.deserializeAttachment() as Attachment;
}

/** False, after closing it with 4003, for a socket whose token has expired. */
function withinDeadline(socket: WebSocket, now: number): boolean {
  if (now < attachmentOf(socket).tokenExpiresAt) return true;
  closeQuietly(socket, CLOSE.tokenExpired);
  return false;
}

function earliest(a: number | null, b: number): number {
  return a === null ? b : Math.min(a, b);
}

function frameBytes(message: string | ArrayBuffer): number {
  // UTF-16 length bounds the cost of measuring: no frame of more code units can fit the limit.
  if (typeof message !== "string") return message.byteLength;
  return message.length > CLIENT_FRAME_LIMITS.maxBytes ? message.length : new TextEncoder().encode(message).byteLength;
}

/** Counts one frame in the socket's fixed window; false once the window is used up. */
function countFrame(socket: WebSocket, attachment: Attachment, now: number): boolean {
  if (now - attachment.windowStartsAt >= CLIENT_FRAME_LIMITS.windowMs) {
    attachment.windowStartsAt = now;
    attachment.framesInWindow = 0;
  }
  attachment.framesInWindow++;
  socket.serializeAttachment(attachment);
  return attachment.framesInWindow <= CLIENT_FRAME_LIMITS.perWindow;
}

/**
 * The token of an `authenticate` frame; null for an `authenticate` frame without a usable token
 * (refused like a bad token); undefined for any other frame.
 */
function authenticateToken(message: string | ArrayBuffer): string | null | undefined {
  if (typeof message !== "string") return undefined;
  let frame: unknown;
  try {
    frame = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof frame !== "object" || frame === null || (frame as { type?: unknown }).type !== "authenticate") return undefined;
  const token = (frame as { access_token?: unknown }).access_token;
  return typeof token === "string" && token.length > 0 ? token : null;
}

// A socket may close between lookup and send; that is not the sender's failure.
function sendQuietly(socket: WebSocket, frame: string): void {
  try {
    socket.send(frame);
  } catch {}
}

function closeQuietly(socket: WebSocket, close: { code: number; reason: string }): void {
  try {
    socket.close(close.code, close.reason);
  } catch {}
}
