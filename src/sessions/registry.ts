import { DurableObject } from "cloudflare:workers";
import { configFrom } from "../config";
import type { DeviceInfo, Place } from "../devices/device";
import { digestsEqual, randomId } from "../encoding";
import { CLOSE, type PublishableEvent } from "../live/events";
import { LiveSockets } from "../live/sockets";
import {
  deriveSuccessor,
  hashRefreshToken,
  hasGenuineTag,
  mintFirstRefreshToken,
  parseRefreshToken,
  refreshKeys,
} from "../tokens/refresh";
import { MirrorOutbox } from "./registry-outbox";
import { migrateRegistrySchema, type RegistryRow } from "./registry-schema";
import { sessionJson } from "./view";

/** Why a session ended; recorded on the session and shown in its history. */
export type RevokeReason =
  | "signed_out" // the session ended itself (logout, or deleted its own entry)
  | "revoked_by_other_device" // another of the user's sessions removed it (device list, logout-others)
  | "signed_out_everywhere" // logout-all
  | "password_changed"
  | "refresh_token_reuse"
  | "admin" // an operator, through the admin API
  | "service"; // another service, through the RPC entrypoint

export interface SessionView {
  id: string;
  device: { name: string; browser: string | null; os: string | null; type: string | null };
  ip: string | null;
  location: { country: string | null; region: string | null; city: string | null };
  createdAt: number;
  lastActiveAt: number;
  expiresAt: number;
}

export type Refused = { ok: false; code: "invalid_token" };
export type SessionResult = { ok: true; session: SessionView } | Refused;
export type RefreshResult =
  | { ok: true; userId: string; sessionId: string; refreshToken: string; expiresAt: number }
  | { ok: false; code: "invalid_refresh_token"; reuseDetected: boolean };

/** How stale `last_active_at` may be in storage: one write per session per minute at most. */
const ACTIVITY_PERSIST_INTERVAL_MS = 60_000;
/** Activity-only changes reach D1 in one batch per user at most this often. */
const ACTIVITY_MIRROR_INTERVAL_MS = 5 * 60_000;

interface LiveSession {
  expiresAt: number;
  lastActiveAt: number;
  persistedActiveAt: number;
}

/**
 * The authority on one user's sessions. Every rotation and revocation runs here, one at a time,
 * so they never race; liveness checks are answered from memory.
 *
 * Consistency with D1: a change commits here first (SQLite, same transaction as its `version`
 * bump), then is mirrored to D1. A row whose `version` is ahead of `mirrored_version` is the
 * outbox: if the D1 write fails, the alarm retries it until it lands. D1 never decides liveness,
 * so a failed mirror can delay what admin listings show, never bring a revoked session back.
 */
export class SessionRegistry extends DurableObject<Env> {
  readonly #sql: SqlStorage;
  readonly #live = new Map<string, LiveSession>();
  #userId: string | null;
  #alarmAt: number | null = null;
  readonly #outbox: MirrorOutbox;
  readonly #sockets: LiveSockets;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sockets = new LiveSockets(ctx);
    migrateRegistrySchema(this.#sql);
    this.#outbox = new MirrorOutbox(this.#sql, {
      database: () => this.env.DB,
      userId: () => this.#userId,
      retryAt: (at) => this.#scheduleAlarm(at),
    });
    this.#userId = (this.#sql.exec("SELECT value FROM meta WHERE key = 'user_id'").toArray()[0]?.value as string) ?? null;
    const now = Date.now();
    for (const row of this.#sql.exec<Pick<RegistryRow, "id" | "expires_at" | "last_active_at">>(
      "SELECT id, expires_at, last_active_at FROM sessions WHERE revoked_at IS NULL AND expires_at > ?",
      now,
    )) {
      this.#live.set(row.id, { expiresAt: row.expires_at, lastActiveAt: row.last_active_at, persistedActiveAt: row.last_active_at });
    }
    void ctx.blockConcurrencyWhile(async () => {
      this.#alarmAt = await ctx.storage.getAlarm();
    });
  }

  // ---- RPC surface ------------------------------------------------------------------------

  /** Starts a session: records it and its first refresh token (hash only) before returning either. */
  async createSession(input: { userId: string; device: DeviceInfo; place: Place }): Promise<{ session: SessionView; refreshToken: string }> {
    const keys = await refreshKeys(this.env.REFRESH_TOKEN_SECRET);
    const sessionId = randomId("ses");
    const token = await mintFirstRefreshToken(keys, input.userId, sessionId);
    const hash = await hashRefreshToken(token);
    const now = Date.now();
    const expiresAt = now + configFrom(this.env).refreshTokenTtlSeconds * 1000;
    const { device, place } = input;
    this.ctx.storage.transactionSync(() => {
      this.#claimUser(input.userId);
      this.#sql.exec(
        `INSERT INTO sessions (id, created_at, expires_at, last_active_at, refresh_generation, refresh_hash,
           device_name, browser, os, device_type, user_agent, ip, country, region, city, latitude, longitude, colo, asn)
         VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        sessionId, now, expiresAt, now, hash,
        device.name, device.browser, device.os, device.type, device.userAgent,
        place.ip, place.country, place.region, place.city, place.latitude, place.longitude, place.colo, place.asn,
      );
    });
    this.#live.set(sessionId, { expiresAt, lastActiveAt: now, persistedActiveAt: now });
    this.#scheduleAlarm(expiresAt);
    const session = this.#view(this.#row(sessionId)!);
    this.#sockets.publish({ type: "session_created", session: sessionJson(session, null) });
    await this.#outbox.flush();
    return { session, refreshToken: token.raw };
  }

  /**
   * Rotates a refresh token. The current token yields its successor; the previous one, inside the
   * grace window, yields the same successor again (two tabs refreshing at once); any earlier
   * genuine token is reuse, and ends the session.
   */
  async refresh(presented: string): Promise<RefreshResult> {
    const invalid = { ok: false, code: "invalid_refresh_token", reuseDetected: false } as const;
    const token = parseRefreshToken(presented);
    if (!token || token.userId !== this.#userId) return invalid;
    const keys = await refreshKeys(this.env.REFRESH_TOKEN_SECRET);
    if (!(await hasGenuineTag(keys, token))) return invalid;
    const presentedHash = await hashRefreshToken(token);
    const successor = await deriveSuccessor(keys, token);
    const successorHash = await hashRefreshToken(successor);

    // No await from here to the write: the decision and the write are one atomic step.
    const now = Date.now();
    const row = this.#row(token.sessionId);
    if (!row || row.revoked_at !== null || now >= row.expires_at) return invalid;
    const graceMs = configFrom(this.env).refreshGraceSeconds * 1000;
    const ok = { ok: true, userId: token.userId, sessionId: row.id, refreshToken: successor.raw, expiresAt: row.expires_at } as const;

    if (token.generation === row.refresh_generation && digestsEqual(presentedHash, new Uint8Array(row.refresh_hash))) {
      this.#sql.exec(
        `UPDATE sessions SET refresh_generation = ?, refresh_hash = ?, previous_refresh_hash = ?, rotated_at = ?, last_active_at = ?
         WHERE id = ?`,
        token.generation + 1, successorHash, presentedHash, now, now, row.id,
      );
      this.#touched(row.id, now, true);
      return ok;
    }
    const isPrevious =
      token.generation === row.refresh_generation - 1 &&
      row.previous_refresh_hash !== null &&
      digestsEqual(presentedHash, new Uint8Array(row.previous_refresh_hash));
    if (isPrevious && row.rotated_at !== null && now - row.rotated_at <= graceMs && digestsEqual(successorHash, new Uint8Array(row.refresh_hash))) {
      return ok;
    }
    if (token.generation < row.refresh_generation) {
      // RFC 9700 §4.14.2: a rotated-out refresh token came back; one of its holders is not the user.
      this.#revoke([row.id], "refresh_token_reuse", null, now);
      await this.#outbox.flush();
      return { ...invalid, reuseDetected: true };
    }
    return invalid;
  }

  /** The per-request liveness check: memory only, no storage read. */
  check(sessionId: string): boolean {
    return this.#liveNow(sessionId, Date.now());
  }

  getSession(actorSessionId: string): SessionResult {
    const now = Date.now();
    if (!this.#liveNow(actorSessionId, now)) return { ok: false, code: "invalid_token" };
    return { ok: true, session: this.#view(this.#row(actorSessionId)!) };
  }

  /** The user's live sessions, most recently active first. */
  listSessions(actorSessionId: string): { ok: true; sessions: SessionView[] } | Refused {
    const now = Date.now();
    if (!this.#liveNow(actorSessionId, now)) return { ok: false, code: "invalid_token" };
    return { ok: true, sessions: this.listLiveSessions() };
  }

  async revokeSession(actorSessionId: string, targetSessionId: string): Promise<{ ok: true } | Refused | { ok: false; code: "not_found" }> {
    const now = Date.now();
    if (!this.#liveNow(actorSessionId, now)) return { ok: false, code: "invalid_token" };
    if (!this.#liveNow(targetSessionId, now)) return { ok: false, code: "not_found" };
    const reason = targetSessionId === actorSessionId ? "signed_out" : "revoked_by_other_device";
    this.#revoke([targetSessionId], reason, actorSessionId, now);
    await this.#outbox.flush();
    return { ok: true };
  }

  /** Ends every live session but the caller's (logout-others, password change). */
  async revokeOtherSessions(actorSessionId: string, reason: RevokeReason): Promise<{ ok: true; revoked: number } | Refused> {
    const now = Date.now();
    if (!this.#liveNow(actorSessionId, now)) return { ok: false, code: "invalid_token" };
    const others = [...this.#live.keys()].filter((id) => id !== actorSessionId);
    const revoked = this.#revoke(others, reason, actorSessionId, now);
    await this.#outbox.flush();
    return { ok: true, revoked };
  }

  async revokeAllSessions(actorSessionId: string): Promise<{ ok: true; revoked: number } | Refused> {
    const now = Date.now();
    if (!this.#liveNow(actorSessionId, now)) return { ok: false, code: "invalid_token" };
    const revoked = this.#revoke([...this.#live.keys()], "signed_out_everywhere", actorSessionId, now);
    await this.#outbox.flush();
    return { ok: true, revoked };
  }

  /** Logout with an access token: idempotent, so an already-ended session is not an error. */
  async endSession(sessionId: string): Promise<void> {
    if (this.#revoke([sessionId], "signed_out", sessionId, Date.now()) > 0) await this.#outbox.flush();
  }

  /** Logout with a refresh cookie: any genuine token of the session ends it. */
  async endSessionByRefreshToken(presented: string): Promise<void> {
    const token = parseRefreshToken(presented);
    if (!token || token.userId !== this.#userId) return;
    if (!(await hasGenuineTag(await refreshKeys(this.env.REFRESH_TOKEN_SECRET), token))) return;
    await this.endSession(token.sessionId);
  }

  // Service-level calls: made on the user's behalf by a trusted caller (the RPC entrypoint, the
  // admin API), not by one of the user's sessions, so there is no actor to check.

  listLiveSessions(): SessionView[] {
    const now = Date.now();
    return this.#sql
      .exec<RegistryRow>("SELECT * FROM sessions WHERE revoked_at IS NULL AND expires_at > ?", now)
      .toArray()
      .map((row) => this.#view(row))
      .sort((a, b) => b.lastActiveAt - a.lastActiveAt || b.createdAt - a.createdAt);
  }

  async revokeSessionAs(sessionId: string, reason: RevokeReason): Promise<{ revoked: boolean }> {
    const revoked = this.#revoke([sessionId], reason, null, Date.now()) > 0;
    if (revoked) await this.#outbox.flush();
    return { revoked };
  }

  async revokeAllSessionsAs(reason: RevokeReason): Promise<{ revoked: number }> {
    const revoked = this.#revoke([...this.#live.keys()], reason, null, Date.now());
    if (revoked > 0) await this.#outbox.flush();
    return { revoked };
  }

  // The live channel (docs/live.md): the Worker verifies the access token, then forwards the
  // upgrade here; liveness is checked here, where revocation happens.

  override fetch(request: Request): Response {
    const sessionId = LiveSockets.sessionIdOf(request);
    if (sessionId === null || !this.#liveNow(sessionId, Date.now())) return new Response(null, { status: 401 });
    return this.#sockets.accept(sessionId);
  }

  override webSocketMessage(socket: WebSocket): void {
    this.#sockets.onMessage(socket, (sessionId) => this.#liveNow(sessionId, Date.now()));
  }

  override webSocketClose(socket: WebSocket, code: number): void {
    this.#sockets.onClose(socket, code);
  }

  override webSocketError(socket: WebSocket): void {
    this.#sockets.onClose(socket, 1011);
  }

  /** For other modules (sign-in risk detection) to tell the user's devices something, live. */
  publishLive(event: PublishableEvent): void {
    this.#sockets.publish(event);
  }

  /** Retries the D1 mirror, drops expired sessions, and sets the next wake-up. */
  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    const mirrored = await this.#outbox.flush();
    const now = Date.now();
    const expired = [...this.#live].filter(([, live]) => live.expiresAt <= now).map(([id]) => id);
    for (const id of expired) this.#live.delete(id);
    this.#sockets.expired(expired, (id) => this.#live.has(id), now);
    // Only rows already mirrored are dropped, so D1 learns every final state first.
    this.#sql.exec("DELETE FROM sessions WHERE expires_at <= ? AND version = mirrored_version", now);
    if (!mirrored) return this.#scheduleAlarm(now + this.#outbox.retryDelay());
    const next = this.#sql.exec<{ at: number | null }>("SELECT min(expires_at) AS at FROM sessions").one().at;
    if (next !== null) this.#scheduleAlarm(Math.max(next, now + 1000));
  }

  // ---- internals --------------------------------------------------------------------------

  #claimUser(userId: string): void {
    if (this.#userId === null) {
      this.#sql.exec("INSERT INTO meta (key, value) VALUES ('user_id', ?)", userId);
      this.#userId = userId;
    } else if (this.#userId !== userId) {
      throw new Error("registry addressed with another user's id");
    }
  }

  #row(sessionId: string): RegistryRow | undefined {
    return this.#sql.exec<RegistryRow>("SELECT * FROM sessions WHERE id = ?", sessionId).toArray()[0];
  }

  /** Live means: not revoked, not expired. Records activity, persisting it at most once a minute. */
  #liveNow(sessionId: string, now: number): boolean {
    const live = this.#live.get(sessionId);
    if (!live || now >= live.expiresAt) return false;
    this.#touched(sessionId, now, false);
    return true;
  }

  #touched(sessionId: string, now: number, persisted: boolean): void {
    const live = this.#live.get(sessionId);
    if (!live) return;
    live.lastActiveAt = now;
    if (!persisted && now - live.persistedActiveAt < ACTIVITY_PERSIST_INTERVAL_MS) return;
    if (!persisted) this.#sql.exec("UPDATE sessions SET last_active_at = ? WHERE id = ?", now, sessionId);
    this.#sql.exec("UPDATE sessions SET version = version + 1 WHERE id = ?", sessionId);
    live.persistedActiveAt = now;
    this.#scheduleAlarm(now + ACTIVITY_MIRROR_INTERVAL_MS);
  }

  /** Marks live sessions revoked, durably, before anyone is told; returns how many ended. */
  #revoke(sessionIds: string[], reason: RevokeReason, by: string | null, now: number): number {
    const ending = sessionIds.filter((id) => this.#live.has(id));
    if (ending.length === 0) return 0;
    this.ctx.storage.transactionSync(() => {
      for (const id of ending) {
        this.#sql.exec(
          `UPDATE sessions SET revoked_at = ?, revoked_reason = ?, revoked_by = ?, version = version + 1
           WHERE id = ? AND revoked_at IS NULL`,
          now, reason, by, id,
        );
      }
    });
    for (const id of ending) this.#live.delete(id);
    // Inside the revoking call, so the device is told and cut off before the caller hears "done".
    this.#sockets.ended(ending, reason, CLOSE.sessionRevoked, now);
    return ending.length;
  }

  #view(row: RegistryRow): SessionView {
    const live = this.#live.get(row.id);
    return {
      id: row.id,
      device: { name: row.device_name, browser: row.browser, os: row.os, type: row.device_type },
      ip: row.ip,
      location: { country: row.country, region: row.region, city: row.city },
      createdAt: row.created_at,
      lastActiveAt: Math.max(row.last_active_at, live?.lastActiveAt ?? 0),
      expiresAt: row.expires_at,
    };
  }

  #scheduleAlarm(at: number): void {
    if (this.#alarmAt !== null && this.#alarmAt <= at) return;
    this.#alarmAt = at;
    void this.ctx.storage.setAlarm(at);
  }
}
