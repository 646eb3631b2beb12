import { DurableObject } from "cloudflare:workers";
import type { SessionInfo } from "../../consumer/rpc";
import { configFrom } from "../config";
import { UNKNOWN_PLACE, type DeviceInfo, type Place } from "../devices/device";
import { digestsEqual } from "../encoding";
import { EventLog } from "../events/event-log";
import { deviceDetails, placeDetails, revokedBy, type NewEvent } from "../events/events";
import { WebhookOutbox } from "../events/webhook-outbox";
import { CLOSE } from "../live/events";
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
import { RiskWatch } from "./registry-risk";
import { migrateRegistrySchema, type RegistryRow } from "./registry-schema";
import { planSessionLimit } from "./session-limit";
import { sessionJson } from "./view";

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
 * How stale `last_active_at` may be in storage: one write per session per minute at most. Memory
 * is always current; after a restart the registry reloads the stored value, so the idle timeout
 * can then end a session up to this much early, never late.
 */
const ACTIVITY_PERSIST_INTERVAL_MS = 60_000;
/** Security events that are also pushed live to the user's devices as `suspicious_sign_in`. */
const SUSPICIOUS: ReadonlySet<string> = new Set(["new_device", "impossible_travel", "session_network_changed"]);
/**
 * How stale `last_active_at` may be in D1. Activity alone (requests, refreshes) marks a session
 * for the mirror only once its D1 copy is this old, so an active session costs D1 one write an
 * hour, not one per refresh; logins and revocations are mirrored at once.
 */
const ACTIVITY_MIRROR_INTERVAL_MS = 60 * 60_000;

interface LiveSession {
  createdAt: number;
  expiresAt: number;
  lastActiveAt: number;
  persistedActiveAt: number;
  mirroredActiveAt: number;
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
  readonly #events: EventLog;
  readonly #webhooks: WebhookOutbox;
  readonly #risk: RiskWatch;
  #webhookDue = false;
  #inTransaction = false;
  /** Set by an operator: no session is created or live while it is. */
  #disabledAt: number | null;
  /**
   * Refreshes per session in the current fixed window. In memory: it guards cost, not secrets, and
   * counting here keeps the refresh to its one registry call. Eviction resets it, which is harmless.
   */
  readonly #refreshWindows = new Map<string, { endsAt: number; count: number }>();
  readonly #sockets: LiveSockets;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sockets = new LiveSockets(ctx);
    migrateRegistrySchema(this.#sql);
    this.#events = new EventLog(this.#sql);
    this.#outbox = new MirrorOutbox(this.#sql, {
      database: () => this.env.DB,
      userId: () => this.#userId,
      retryAt: (at) => this.#scheduleAlarm(at),
      events: this.#events,
    });
    this.#webhooks = new WebhookOutbox(this.#events, {
      settings: () => ({ url: configFrom(this.env).securityWebhookUrl, secret: this.env.SECURITY_WEBHOOK_SECRET || null }),
      userId: () => this.#userId,
    });
    this.#risk = new RiskWatch(this.#sql, {
      record: (event, now) => this.#record(event, now),
      impossibleTravelKmh: () => configFrom(this.env).impossibleTravelKmh,
    });
    this.#userId = (this.#sql.exec("SELECT value FROM meta WHERE key = 'user_id'").toArray()[0]?.value as string) ?? null;
    this.#disabledAt = this.#sql.exec<{ disabled_at: number | null }>("SELECT disabled_at FROM account").one().disabled_at;
    const now = Date.now();
    for (const row of this.#sql.exec<Pick<RegistryRow, "id" | "created_at" | "expires_at" | "last_active_at">>(
      "SELECT id, created_at, expires_at, last_active_at FROM sessions WHERE revoked_at IS NULL AND expires_at > ?",
      now,
    )) {
      const at = row.last_active_at;
      this.#live.set(row.id, { createdAt: row.created_at, expiresAt: row.expires_at, lastActiveAt: at, persistedActiveAt: at, mirroredActiveAt: at });
    }
    void ctx.blockConcurrencyWhile(async () => {
      this.#alarmAt = await ctx.storage.getAlarm();
    });
  }

  // ---- RPC surface ------------------------------------------------------------------------

  /**
   * Starts a session: records it and its first refresh token (hash only) before returning either.
   * The session limit is decided in the same synchronous transaction as the insert, so any number
   * of simultaneous sign-ins end with at most MAX_SESSIONS live sessions. The caller picks the
   * session id, so if this call's answer is lost it can still end the session.
   */
  async createSession(input: { userId: string; sessionId: string; device: DeviceInfo; place: Place; credentialsSeenAt?: number }): Promise<CreateSessionResult> {
    const keys = await refreshKeys(this.env.REFRESH_TOKEN_SECRET);
    const { sessionId } = input;
    const token = await mintFirstRefreshToken(keys, input.userId, sessionId);
    const hash = await hashRefreshToken(token);
    const now = Date.now();
    const config = configFrom(this.env);
    const expiresAt = now + config.refreshTokenTtlSeconds * 1000;
    const { device, place } = input;
    // Every refusal is decided in the same synchronous step as the insert, so nothing that lands
    // between this call's awaits (a disable, a password change, another sign-in) is missed.
    const refused = this.#atomically((): "account_disabled" | "credentials_changed" | "session_limit_reached" | null => {
      if (this.#disabledAt !== null) return "account_disabled";
      // A password change recorded after this sign-in read the account: the password it checked is stale.
      const changedAt = Number(this.#sql.exec("SELECT value FROM meta WHERE key = 'credentials_changed_at'").toArray()[0]?.value ?? 0);
      if (changedAt > (input.credentialsSeenAt ?? 0)) return "credentials_changed";
      this.#claimUser(input.userId);
      const plan = planSessionLimit(this.#liveSummaries(now), config.maxSessions, config.sessionLimitPolicy);
      if (plan.refuse) {
        this.#record({ type: "sign_in_refused", sessionId: null, details: { reason: "session_limit", max_sessions: config.maxSessions, device: deviceDetails(device), place: placeDetails(place) } }, now);
        return "session_limit_reached";
      }
      this.#revoke(plan.evict, "session_limit", sessionId, now);
      this.#sql.exec(
        `INSERT INTO sessions (id, created_at, expires_at, last_active_at, refresh_generation, refresh_hash,
           device_name, browser, os, device_type, user_agent, ip, country, region, city, latitude, longitude, colo, asn)
         VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        sessionId, now, expiresAt, now, hash,
        device.name, device.browser, device.os, device.type, device.userAgent,
        place.ip, place.country, place.region, place.city, place.latitude, place.longitude, place.colo, place.asn,
      );
      this.#live.set(sessionId, { createdAt: now, expiresAt, lastActiveAt: now, persistedActiveAt: now, mirroredActiveAt: now });
      this.#record({ type: "signed_in", sessionId, details: { device: deviceDetails(device), place: placeDetails(place) } }, now);
      this.#risk.signIn(sessionId, device, place, now);
      return null;
    });
    if (refused === "session_limit_reached") {
      await this.#flush();
      return { ok: false, code: refused, maxSessions: config.maxSessions };
    }
    if (refused !== null) return { ok: false, code: refused };
    this.#scheduleAlarm(expiresAt);
    const session = this.#view(this.#row(sessionId)!);
    this.#sockets.publish({ type: "session_created", session: sessionJson(session, null) });
    await this.#flush();
    return { ok: true, session, refreshToken: token.raw };
  }

  /**
   * Rotates a refresh token. The current token yields its successor; the previous one, inside the
   * grace window, yields the same successor again (two tabs refreshing at once); any earlier
   * genuine token is reuse, and ends the session. `place` is where the request came from: every
   * successful refresh is checked for impossible travel and for a change of country or network.
   */
  async refresh(presented: string, place: Place = UNKNOWN_PLACE): Promise<RefreshResult> {
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
    if (!row || row.revoked_at !== null || now >= row.expires_at || !this.#alive(row.id, now)) return invalid;
    const graceMs = configFrom(this.env).refreshGraceSeconds * 1000;
    const ok = { ok: true, userId: token.userId, sessionId: row.id, refreshToken: successor.raw, expiresAt: row.expires_at } as const;

    // The per-session limit guards what a refresh mints; it is counted only where something is
    // minted, so a replayed old token is always caught as reuse below, never answered with a 429.
    if (token.generation === row.refresh_generation && digestsEqual(presentedHash, new Uint8Array(row.refresh_hash))) {
      const limited = this.#countRefresh(row.id, now);
      if (limited) return limited;
      const findings = this.#atomically(() => {
        this.#sql.exec(
          `UPDATE sessions SET refresh_generation = ?, refresh_hash = ?, previous_refresh_hash = ?, rotated_at = ?, last_active_at = ?
           WHERE id = ?`,
          token.generation + 1, successorHash, presentedHash, now, now, row.id,
        );
        return this.#risk.refresh(row, place, now);
      });
      this.#touched(row.id, now, true);
      if (findings > 0) await this.#flush();
      return ok;
    }
    const isPrevious =
      token.generation === row.refresh_generation - 1 &&
      row.previous_refresh_hash !== null &&
      digestsEqual(presentedHash, new Uint8Array(row.previous_refresh_hash));
    if (isPrevious && row.rotated_at !== null && now - row.rotated_at <= graceMs && digestsEqual(successorHash, new Uint8Array(row.refresh_hash))) {
      const limited = this.#countRefresh(row.id, now);
      if (limited) return limited;
      const findings = this.#atomically(() => this.#risk.refresh(row, place, now));
      this.#touched(row.id, now, false);
      if (findings > 0) await this.#flush();
      return ok;
    }
    if (token.generation < row.refresh_generation) {
      // RFC 9700 §4.14.2: a rotated-out refresh token came back; one of its holders is not the user.
      this.#atomically(() => {
        this.#record({
          type: "refresh_token_reuse",
          sessionId: row.id,
          details: { presented_generation: token.generation, current_generation: row.refresh_generation, device: deviceDetails({ name: row.device_name, browser: row.browser, os: row.os, type: row.device_type }), place: placeDetails(place) },
        }, now);
        this.#revoke([row.id], "refresh_token_reuse", null, now);
      });
      await this.#flush();
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
    if (!this.#alive(targetSessionId, now)) return { ok: false, code: "not_found" };
    const reason = targetSessionId === actorSessionId ? "signed_out" : "revoked_by_other_device";
    this.#revoke([targetSessionId], reason, actorSessionId, now);
    await this.#flush();
    return { ok: true };
  }

  /** Renames one of the user's live sessions (the device list's "name this device"). */
  async renameSession(actorSessionId: string, targetSessionId: string, name: string): Promise<SessionResult | { ok: false; code: "not_found" }> {
    const now = Date.now();
    if (!this.#liveNow(actorSessionId, now)) return { ok: false, code: "invalid_token" };
    if (!this.#alive(targetSessionId, now)) return { ok: false, code: "not_found" };
    this.#sql.exec("UPDATE sessions SET device_name = ?, version = version + 1 WHERE id = ?", name, targetSessionId);
    await this.#flush();
    return { ok: true, session: this.#view(this.#row(targetSessionId)!) };
  }

  /**
   * Records a password change in the history. The Worker changes the password (D1 holds it); the
   * event is still born here, so it reaches D1 and the webhook through the same outbox as the rest.
   */
  async recordPasswordChange(
    actorSessionId: string,
    input: { changedAt: number; signOutOthers: boolean; signedOutOthers: number | null; place: Place },
  ): Promise<void> {
    const now = Date.now();
    this.#atomically(() => {
      // From now on a sign-in that checked an older password is refused (createSession)...
      this.#sql.exec(
        "INSERT INTO meta (key, value) VALUES ('credentials_changed_at', ?) ON CONFLICT (key) DO UPDATE SET value = max(CAST(value AS INTEGER), excluded.value)",
        String(input.changedAt),
      );
      // ...and one that got its session between the first sweep and the new hash is ended here.
      if (input.signOutOthers) {
        const others = this.#aliveIds(now).filter((id) => id !== actorSessionId);
        this.#revoke(others, "password_changed", actorSessionId, now);
      }
      this.#record({ type: "password_changed", sessionId: actorSessionId, details: { other_sessions_signed_out: input.signedOutOthers, place: placeDetails(input.place) } }, now);
    });
    await this.#flush();
  }

  /** Ends every live session but the caller's (logout-others, password change). */
  async revokeOtherSessions(actorSessionId: string, reason: RevokeReason): Promise<{ ok: true; revoked: number } | Refused> {
    const now = Date.now();
    if (!this.#liveNow(actorSessionId, now)) return { ok: false, code: "invalid_token" };
    const others = this.#aliveIds(now).filter((id) => id !== actorSessionId);
    const revoked = this.#revoke(others, reason, actorSessionId, now);
    await this.#flush();
    return { ok: true, revoked };
  }

  async revokeAllSessions(actorSessionId: string): Promise<{ ok: true; revoked: number } | Refused> {
    const now = Date.now();
    if (!this.#liveNow(actorSessionId, now)) return { ok: false, code: "invalid_token" };
    const revoked = this.#revoke(this.#aliveIds(now), "signed_out_everywhere", actorSessionId, now);
    await this.#flush();
    return { ok: true, revoked };
  }

  /** Logout with an access token: idempotent, so an already-ended session is not an error. */
  async endSession(sessionId: string): Promise<void> {
    if (this.#revoke([sessionId], "signed_out", sessionId, Date.now()) > 0) await this.#flush();
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
      .filter((row) => this.#alive(row.id, now))
      .map((row) => this.#view(row))
      .sort((a, b) => b.lastActiveAt - a.lastActiveAt || b.createdAt - a.createdAt);
  }

  async revokeSessionAs(sessionId: string, reason: RevokeReason): Promise<{ revoked: boolean }> {
    const revoked = this.#revoke([sessionId], reason, null, Date.now()) > 0;
    if (revoked) await this.#flush();
    return { revoked };
  }

  async revokeAllSessionsAs(reason: RevokeReason): Promise<{ revoked: number }> {
    const now = Date.now();
    const revoked = this.#revoke(this.#aliveIds(now), reason, null, now);
    if (revoked > 0) await this.#flush();
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

  /** Retries the D1 mirror, posts due webhooks, drops expired sessions, and sets the next wake-up. */
  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    const mirrored = await this.#outbox.flush();
    const nextWebhook = await this.#webhooks.deliverDue();
    if (nextWebhook !== null) this.#scheduleAlarm(nextWebhook);
    const now = Date.now();
    const expired = [...this.#live].filter(([, live]) => live.expiresAt <= now).map(([id]) => id);
    for (const id of expired) this.#live.delete(id);
    this.#sockets.expired(expired, (id) => this.#live.has(id), now);
    for (const [id, window] of this.#refreshWindows) if (window.endsAt <= now) this.#refreshWindows.delete(id);
    // Only rows already mirrored are dropped, so D1 learns every final state first.
    this.#sql.exec("DELETE FROM sessions WHERE expires_at <= ? AND version = mirrored_version", now);
    if (!mirrored) return this.#scheduleAlarm(now + this.#outbox.retryDelay());
    const next = this.#sql.exec<{ at: number | null }>("SELECT min(expires_at) AS at FROM sessions").one().at;
    if (next !== null) this.#scheduleAlarm(Math.max(next, now + 1000));
  }

  /** Admin: ends every session (reason "admin") and refuses new ones until `enableAccount`. */
  async disableAccount(): Promise<{ revoked: number }> {
    const now = Date.now();
    const revoked = this.#atomically(() => {
      // Chosen before the flag is set: once it is, no session counts as alive.
      const ending = this.#aliveIds(now);
      this.#sql.exec("UPDATE account SET disabled_at = coalesce(disabled_at, ?)", now);
      this.#disabledAt ??= now;
      return this.#revoke(ending, "admin", null, now);
    });
    if (revoked > 0) await this.#flush();
    return { revoked };
  }

  enableAccount(): void {
    this.#sql.exec("UPDATE account SET disabled_at = NULL");
    this.#disabledAt = null;
  }

  /**
   * Consistency repair: queues every row for D1 again and pushes it, so a D1 row that disagrees
   * (a lost write, a hand edit) is overwritten by this registry's state. Returns the ids live here.
   */
  async remirrorAll(): Promise<{ mirrored: boolean; liveSessionIds: string[] }> {
    this.#sql.exec("UPDATE sessions SET mirrored_version = 0");
    const mirrored = await this.#outbox.flush();
    const now = Date.now();
    return { mirrored, liveSessionIds: [...this.#live].filter(([, live]) => live.expiresAt > now).map(([id]) => id) };
  }

  // ---- internals --------------------------------------------------------------------------

  #countRefresh(sessionId: string, now: number): { ok: false; code: "rate_limited"; retryAfterSeconds: number } | null {
    const { limit, windowMs } = configFrom(this.env).refreshPerSession;
    let window = this.#refreshWindows.get(sessionId);
    if (!window || window.endsAt <= now) {
      window = { endsAt: now + windowMs, count: 0 };
      this.#refreshWindows.set(sessionId, window);
    }
    if (window.count >= limit) return { ok: false, code: "rate_limited", retryAfterSeconds: Math.max(1, Math.ceil((window.endsAt - now) / 1000)) };
    window.count++;
    return null;
  }

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

  /** Live means: not revoked, not expired, not idle. Records activity, persisting it at most once a minute. */
  #liveNow(sessionId: string, now: number): boolean {
    if (!this.#alive(sessionId, now)) return false;
    this.#touched(sessionId, now, false);
    return true;
  }

  /** Not revoked, within its absolute lifetime, and used within the idle timeout; no side effect. */
  #alive(sessionId: string, now: number): boolean {
    const live = this.#live.get(sessionId);
    if (!live || now >= live.expiresAt || this.#disabledAt !== null) return false;
    return now - live.lastActiveAt < configFrom(this.env).idleTimeoutSeconds * 1000;
  }

  /** The sessions a bulk revocation ends: only those still alive, so counts and events are real. */
  #aliveIds(now: number): string[] {
    return [...this.#live.keys()].filter((id) => this.#alive(id, now));
  }

  #liveSummaries(now: number) {
    return [...this.#live].filter(([id]) => this.#alive(id, now)).map(([id, live]) => ({ id, createdAt: live.createdAt, lastActiveAt: live.lastActiveAt }));
  }

  /** Activity: in memory at once, in storage at most once a minute, in D1 at most once an hour. */
  #touched(sessionId: string, now: number, persisted: boolean): void {
    const live = this.#live.get(sessionId);
    if (!live) return;
    live.lastActiveAt = now;
    if (!persisted && now - live.persistedActiveAt < ACTIVITY_PERSIST_INTERVAL_MS) return;
    if (!persisted) this.#sql.exec("UPDATE sessions SET last_active_at = ? WHERE id = ?", now, sessionId);
    live.persistedActiveAt = now;
    if (now - live.mirroredActiveAt < ACTIVITY_MIRROR_INTERVAL_MS) return;
    this.#sql.exec("UPDATE sessions SET version = version + 1 WHERE id = ?", sessionId);
    live.mirroredActiveAt = now;
    this.#scheduleAlarm(now + 60_000);
  }

  /** Marks live sessions revoked, durably and with their history events, before anyone is told; returns how many ended. */
  #revoke(sessionIds: string[], reason: RevokeReason, by: string | null, now: number): number {
    const ending = sessionIds.filter((id) => this.#live.has(id));
    if (ending.length === 0) return 0;
    this.#atomically(() => {
      for (const id of ending) {
        const ended = this.#sql
          .exec<Pick<RegistryRow, "device_name" | "browser" | "os" | "device_type">>(
            `UPDATE sessions SET revoked_at = ?, revoked_reason = ?, revoked_by = ?, version = version + 1
             WHERE id = ? AND revoked_at IS NULL RETURNING device_name, browser, os, device_type`,
            now, reason, by, id,
          )
          .toArray()[0];
        if (!ended) continue;
        const device = deviceDetails({ name: ended.device_name, browser: ended.browser, os: ended.os, type: ended.device_type });
        this.#record({ type: "session_revoked", sessionId: id, details: { reason, revoked_by: revokedBy(reason), by_session_id: by, device } }, now);
      }
    });
    for (const id of ending) this.#live.delete(id);
    // Inside the revoking call, so the device is told and cut off before the caller hears "done".
    this.#sockets.ended(ending, reason, CLOSE.sessionRevoked, now);
    return ending.length;
  }

  /** Runs `write` in one SQLite transaction; nested calls join the outer one. */
  #atomically<T>(write: () => T): T {
    if (this.#inTransaction) return write();
    this.#inTransaction = true;
    try {
      return this.ctx.storage.transactionSync(write);
    } finally {
      this.#inTransaction = false;
    }
  }

  /** Mirrors pending changes and events to D1 now, and wakes the alarm for any webhook to post. */
  #flush(): Promise<boolean> {
    if (this.#webhookDue) {
      this.#webhookDue = false;
      this.#scheduleAlarm(Date.now());
    }
    return this.#outbox.flush();
  }

  /** Adds an event to the history; call inside the transaction of the change it describes. */
  #record(event: NewEvent, now: number): void {
    const webhook = configFrom(this.env).securityWebhookUrl !== null;
    this.#events.record(event, now, webhook);
    if (webhook) this.#webhookDue = true;
    // Risk findings also reach the user's open devices at once (docs/live.md).
    if (SUSPICIOUS.has(event.type) && event.sessionId !== null) {
      this.#sockets.publish({ type: "suspicious_sign_in", session_id: event.sessionId, reasons: [event.type], at: new Date(now).toISOString() });
    }
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
