import { CLOSE, LIVE_PROTOCOL, LIVE_SESSION_HEADER, type LiveEvent } from "../contract/live";
import { iso, type RevokeReason } from "../contract/session";

/**
 * Socket bookkeeping for one user's registry. Sockets are accepted with the hibernation API and
 * tagged with their session id, so an idle socket keeps no object in memory, and the registry can
 * find a session's sockets again after it was evicted (`getWebSockets(tag)` survives hibernation).
 */

/** One per tab is normal; more than this from one session is a leak or abuse, oldest go first. */
const MAX_SOCKETS_PER_SESSION = 16;

interface Attachment {
  sessionId: string;
  connectedAt: number;
}

export class LiveSockets {
  constructor(
    private readonly ctx: DurableObjectState,
    private readonly now: () => number,
  ) {
    // Keepalive pings are answered by the runtime itself, without waking a hibernated object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /** The session id of a forwarded upgrade, or null when the request is not one. */
  static sessionIdOf(request: Request): string | null {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") return null;
    return request.headers.get(LIVE_SESSION_HEADER);
  }

  /** Accepts a socket for a session the registry has just confirmed live. */
  accept(sessionId: string): Response {
    const existing = this.ctx.getWebSockets(sessionId).sort((a, b) => attachmentOf(a).connectedAt - attachmentOf(b).connectedAt);
    for (const old of existing.slice(0, Math.max(0, existing.length - MAX_SOCKETS_PER_SESSION + 1))) closeQuietly(old, CLOSE.replaced);
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [sessionId]);
    server.serializeAttachment({ sessionId, connectedAt: this.now() } satisfies Attachment);
    // Echo only our protocol: the `bearer.` entry the client also offered must never come back.
    return new Response(null, { status: 101, webSocket: client, headers: { "Sec-WebSocket-Protocol": LIVE_PROTOCOL } });
  }

  /** Sends an event to every socket of the user, or only to those of the given sessions. */
  publish(event: LiveEvent, toSessionIds?: readonly string[]): void {
    const sockets = toSessionIds ? toSessionIds.flatMap((id) => this.ctx.getWebSockets(id)) : this.ctx.getWebSockets();
    const frame = JSON.stringify(event);
    for (const socket of sockets) sendQuietly(socket, frame);
  }

  /**
   * Sessions just ended: each one's own sockets hear why and are closed, and every other socket
   * of the user hears it too, so device lists drop the entry without polling.
   */
  ended(sessionIds: readonly string[], why: RevokeReason | "expired", now: number): void {
    const at = iso(now);
    const frameOf = (id: string): LiveEvent =>
      why === "expired"
        ? { type: "session_expired", session_id: id, reason: why, at }
        : { type: "session_revoked", session_id: id, reason: why, at };
    const frames = sessionIds.map((id) => JSON.stringify(frameOf(id)));
    const close = why === "expired" ? CLOSE.sessionExpired : CLOSE.sessionRevoked;
    for (const socket of this.ctx.getWebSockets()) {
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
    if (ending.length > 0) this.ended(ending, "expired", now);
  }

  /**
   * Sessions that went idle with a socket open are ended like expired ones: their sockets hear
   * `session_expired` and close with 4002, and every other socket hears it too. `idleAt` answers
   * when a session goes idle as of its latest activity (null for one the registry no longer
   * holds, which `expired` covers), so a session used since the alarm was set is left open.
   * Returns the earliest idle deadline among the sessions whose sockets stay open, or null.
   */
  idle(idleAt: (sessionId: string) => number | null, now: number): number | null {
    const ending: string[] = [];
    let next: number | null = null;
    for (const sessionId of new Set(this.ctx.getWebSockets().map((socket) => attachmentOf(socket).sessionId))) {
      const at = idleAt(sessionId);
      if (at === null) continue;
      if (at <= now) ending.push(sessionId);
      else next = Math.min(next ?? at, at);
    }
    if (ending.length > 0) this.ended(ending, "expired", now);
    return next;
  }

  /**
   * Anything a client sends (but the auto-answered ping) re-checks its session, and is otherwise
   * ignored. A session that lapsed (idle or expired) before the alarm got to it is ended here as
   * the alarm would end it, `session_expired` to every socket and 4002; an ended one (revoked: its
   * event went out when that happened) is closed with 4001.
   */
  onMessage(socket: WebSocket, status: (sessionId: string, now: number) => "live" | "lapsed" | "ended"): void {
    const { sessionId } = attachmentOf(socket);
    const now = this.now();
    const state = status(sessionId, now);
    if (state === "lapsed") this.ended([sessionId], "expired", now);
    else if (state === "ended") closeQuietly(socket, CLOSE.sessionRevoked);
  }

  /** Completes the closing handshake the client started (a no-op where the runtime already did). */
  onClose(socket: WebSocket, code: number): void {
    // 1005/1006 are "no code" markers that must not be sent on the wire (RFC 6455 §7.4.1).
    closeQuietly(socket, { code: code === 1005 || code === 1006 ? 1000 : code, reason: "" });
  }
}

function attachmentOf(socket: WebSocket): Attachment {
  return socket.deserializeAttachment() as Attachment;
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
