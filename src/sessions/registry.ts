import { DurableObject } from "cloudflare:workers";
import { configFrom } from "../config";
import { UNKNOWN_PLACE, type DeviceInfo, type Place } from "../devices/device";
import { deviceDetails, placeDetails, revokedBy } from "../events/events";
import { CLOSE } from "../live/events";
import { LiveSockets } from "../live/sockets";
import { hashRefreshToken, mintFirstRefreshToken, refreshKeys } from "../tokens/refresh";
import { RegistryAccount } from "./registry-account";
import { SecurityHistory } from "./registry-history";
import { LiveSessions } from "./registry-liveness";
import { MirrorOutbox } from "./registry-outbox";
import { genuineTokenOf, presentedRefreshToken, RefreshWindows, rotationOf } from "./registry-refresh";
import { RiskWatch } from "./registry-risk";
import { rowDevice, SessionRows } from "./registry-rows";
import { migrateRegistrySchema } from "./registry-schema";
import type { CreateSessionResult, RefreshResult, Refused, RevokeReason, SessionResult, SessionView } from "./registry-view";
import { planSessionLimit } from "./session-limit";
import { sessionJson } from "./view";

export type { CreateSessionResult, RefreshResult, Refused, RevokeReason, SessionResult, SessionView } from "./registry-view";

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
  readonly #rows: SessionRows;
  readonly #live: LiveSessions;
  readonly #account: RegistryAccount;
  #alarmAt: number | null = null;
  readonly #outbox: MirrorOutbox;
  readonly #history: SecurityHistory;
  readonly #risk: RiskWatch;
  #inTransaction = false;
  readonly #refreshWindows = new RefreshWindows();
  readonly #sockets: LiveSockets;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    this.#sockets = new LiveSockets(ctx);
    migrateRegistrySchema(sql);
    this.#account = new RegistryAccount(sql);
    this.#rows = new SessionRows(sql);
    this.#history = new SecurityHistory(sql, {
      webhook: () => ({ url: configFrom(this.env).securityWebhookUrl, secret: this.env.SECURITY_WEBHOOK_SECRET || null }),
      userId: () => this.#account.userId,
      publish: (event) => this.#sockets.publish(event),
    });
    this.#outbox = new MirrorOutbox(sql, {
      database: () => this.env.DB,
      userId: () => this.#account.userId,
      retryAt: (at) => this.#scheduleAlarm(at),
      events: this.#history.log,
    });
    this.#risk = new RiskWatch(sql, {
      record: (event, now) => this.#history.record(event, now),
      impossibleTravelKmh: () => configFrom(this.env).impossibleTravelKmh,
    });
    this.#live = new LiveSessions(sql, {
      idleTimeoutMs: () => configFrom(this.env).idleTimeoutSeconds * 1000,
      disabled: () => this.#account.disabled,
      mirrorBy: (at) => this.#scheduleAlarm(at),
    });
    this.#live.load(Date.now());
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
      if (this.#account.disabled) return "account_disabled";
      // A password change recorded after this sign-in read the account: the password it checked is stale.
      if (this.#account.credentialsChangedAt() > (input.credentialsSeenAt ?? 0)) return "credentials_changed";
      this.#account.claim(input.userId);
      const plan = planSessionLimit(this.#live.summaries(now), config.maxSessions, config.sessionLimitPolicy);
      if (plan.refuse) {
        this.#history.record({ type: "sign_in_refused", sessionId: null, details: { reason: "session_limit", max_sessions: config.maxSessions, device: deviceDetails(device), place: placeDetails(place) } }, now);
        return "session_limit_reached";
      }
      this.#revoke(plan.evict, "session_limit", sessionId, now);
      this.#rows.insert({ id: sessionId, now, expiresAt, refreshHash: hash, device, place });
      this.#live.add(sessionId, now, expiresAt, now);
      this.#history.record({ type: "signed_in", sessionId, details: { device: deviceDetails(device), place: placeDetails(place) } }, now);
      this.#risk.signIn(sessionId, device, place, now);
      return null;
    });
    if (refused === "session_limit_reached") {
      await this.#flush();
      return { ok: false, code: refused, maxSessions: config.maxSessions };
    }
    if (refused !== null) return { ok: false, code: refused };
    this.#scheduleAlarm(expiresAt);
    const session = this.#live.view(this.#rows.get(sessionId)!);
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
    const genuine = await presentedRefreshToken(this.env.REFRESH_TOKEN_SECRET, presented, this.#account.userId);
    if (!genuine) return invalid;
    const { token, successor } = genuine;

    // No await from here to the write: the decision and the write are one atomic step.
    const now = Date.now();
    const row = this.#rows.get(token.sessionId);
    if (!row || row.revoked_at !== null || now >= row.expires_at || !this.#live.alive(row.id, now)) return invalid;
    const ok = { ok: true, userId: token.userId, sessionId: row.id, refreshToken: successor.raw, expiresAt: row.expires_at } as const;
    const rotation = rotationOf(row, genuine, now, configFrom(this.env).refreshGraceSeconds * 1000);

    // The per-session limit guards what a refresh mints; it is counted only where something is
    // minted, so a replayed old token is always caught as reuse below, never answered with a 429.
    if (rotation === "current" || rotation === "grace") {
      const limited = this.#refreshWindows.count(row.id, now, configFrom(this.env).refreshPerSession);
      if (limited) return limited;
      const findings = this.#atomically(() => {
        // The current token yields a new successor; the previous one, in grace, the same one again.
        if (rotation === "current") this.#rows.rotate(row.id, token.generation + 1, genuine.successorHash, genuine.hash, now);
        return this.#risk.refresh(row, place, now);
      });
      this.#live.touched(row.id, now, rotation === "current");
      if (findings > 0) await this.#flush();
      return ok;
    }
    if (rotation === "reuse") {
      // RFC 9700 §4.14.2: a rotated-out refresh token came back; one of its holders is not the user.
      this.#atomically(() => {
        this.#history.record({
          type: "refresh_token_reuse",
          sessionId: row.id,
          details: { presented_generation: token.generation, current_generation: row.refresh_generation, device: rowDevice(row), place: placeDetails(place) },
        }, now);
        this.#revoke([row.id], "refresh_token_reuse", null, now);
      });
      await this.#flush();
      return { ...invalid, reuseDetected: true };
    }
    return invalid;
  }

  /** Before a history read from D1: checks the session, then pushes (or joins a push of) all D1 still lacks. */
  async checkMirrored(sessionId: string): Promise<boolean> {
    if (!this.#live.liveNow(sessionId, Date.now())) return false;
    await this.#flush();
    return true;
  }

  /** The per-request liveness check: memory only, no storage read. */
  check(sessionId: string): boolean {
    return this.#live.liveNow(sessionId, Date.now());
  }

  getSession(actorSessionId: string): SessionResult {
    const now = Date.now();
    if (!this.#live.liveNow(actorSessionId, now)) return { ok: false, code: "invalid_token" };
    return { ok: true, session: this.#live.view(this.#rows.get(actorSessionId)!) };
  }

  /** The user's live sessions, most recently active first. */
  listSessions(actorSessionId: string): { ok: true; sessions: SessionView[] } | Refused {
    const now = Date.now();
    if (!this.#live.liveNow(actorSessionId, now)) return { ok: false, code: "invalid_token" };
    return { ok: true, sessions: this.listLiveSessions() };
  }

  async revokeSession(actorSessionId: string, targetSessionId: string): Promise<{ ok: true } | Refused | { ok: false; code: "not_found" }> {
    const now = Date.now();
    if (!this.#live.liveNow(actorSessionId, now)) return { ok: false, code: "invalid_token" };
    if (!this.#live.alive(targetSessionId, now)) return { ok: false, code: "not_found" };
    const reason = targetSessionId === actorSessionId ? "signed_out" : "revoked_by_other_device";
    this.#revoke([targetSessionId], reason, actorSessionId, now);
    await this.#flush();
    return { ok: true };
  }

  /** Renames one of the user's live sessions (the device list's "name this device"). */
  async renameSession(actorSessionId: string, targetSessionId: string, name: string): Promise<SessionResult | { ok: false; code: "not_found" }> {
    const now = Date.now();
    if (!this.#live.liveNow(actorSessionId, now)) return { ok: false, code: "invalid_token" };
    if (!this.#live.alive(targetSessionId, now)) return { ok: false, code: "not_found" };
    this.#rows.rename(targetSessionId, name);
    await this.#flush();
    return { ok: true, session: this.#live.view(this.#rows.get(targetSessionId)!) };
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
      this.#account.credentialsChanged(input.changedAt);
      // ...and one that got its session between the first sweep and the new hash is ended here.
      if (input.signOutOthers) {
        const others = this.#live.aliveIds(now).filter((id) => id !== actorSessionId);
        this.#revoke(others, "password_changed", actorSessionId, now);
      }
      this.#history.record({ type: "password_changed", sessionId: actorSessionId, details: { other_sessions_signed_out: input.signedOutOthers, place: placeDetails(input.place) } }, now);
    });
    await this.#flush();
  }

  /** Ends every live session but the caller's (logout-others, password change). */
  async revokeOtherSessions(actorSessionId: string, reason: RevokeReason): Promise<{ ok: true; revoked: number } | Refused> {
    const now = Date.now();
    if (!this.#live.liveNow(actorSessionId, now)) return { ok: false, code: "invalid_token" };
    const others = this.#live.aliveIds(now).filter((id) => id !== actorSessionId);
    const revoked = this.#revoke(others, reason, actorSessionId, now);
    await this.#flush();
    return { ok: true, revoked };
  }

  async revokeAllSessions(actorSessionId: string): Promise<{ ok: true; revoked: number } | Refused> {
    const now = Date.now();
    if (!this.#live.liveNow(actorSessionId, now)) return { ok: false, code: "invalid_token" };
    const revoked = this.#revoke(this.#live.aliveIds(now), "signed_out_everywhere", actorSessionId, now);
    await this.#flush();
    return { ok: true, revoked };
  }

  /** Logout with an access token: idempotent, so an already-ended session is not an error. */
  async endSession(sessionId: string): Promise<void> {
    if (this.#revoke([sessionId], "signed_out", sessionId, Date.now()) > 0) await this.#flush();
  }

  /** Logout with a refresh cookie: any genuine token of the session ends it. */
  async endSessionByRefreshToken(presented: string): Promise<void> {
    const token = await genuineTokenOf(this.env.REFRESH_TOKEN_SECRET, presented, this.#account.userId);
    if (token) await this.endSession(token.sessionId);
  }

  // Service-level calls: made on the user's behalf by a trusted caller (the RPC entrypoint, the
  // admin API), not by one of the user's sessions, so there is no actor to check.

  listLiveSessions(): SessionView[] {
    const now = Date.now();
    return this.#rows
      .unrevoked(now)
      .filter((row) => this.#live.alive(row.id, now))
      .map((row) => this.#live.view(row))
      .sort((a, b) => b.lastActiveAt - a.lastActiveAt || b.createdAt - a.createdAt);
  }

  async revokeSessionAs(sessionId: string, reason: RevokeReason): Promise<{ revoked: boolean }> {
    const revoked = this.#revoke([sessionId], reason, null, Date.now()) > 0;
    if (revoked) await this.#flush();
    return { revoked };
  }

  async revokeAllSessionsAs(reason: RevokeReason): Promise<{ revoked: number }> {
    const now = Date.now();
    const revoked = this.#revoke(this.#live.aliveIds(now), reason, null, now);
    if (revoked > 0) await this.#flush();
    return { revoked };
  }

  // The live channel (docs/live.md): the Worker verifies the access token, then forwards the
  // upgrade here; liveness is checked here, where revocation happens.

  override fetch(request: Request): Response {
    const sessionId = LiveSockets.sessionIdOf(request);
    if (sessionId === null || !this.#live.liveNow(sessionId, Date.now())) return new Response(null, { status: 401 });
    this.#scheduleAlarm(this.#live.idleAt(sessionId)!); // back at its idle deadline, to close its sockets then
    return this.#sockets.accept(sessionId);
  }

  override webSocketMessage(socket: WebSocket): void {
    this.#sockets.onMessage(socket, (id, now) => this.#live.status(id, now));
  }

  override webSocketClose(socket: WebSocket, code: number): void {
    this.#sockets.onClose(socket, code);
  }

  override webSocketError(socket: WebSocket): void {
    this.#sockets.onClose(socket, 1011);
  }

  /** Retries the D1 mirror, posts due webhooks, ends expired and idle sessions' sockets, and sets the next wake-up. */
  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    const mirrored = await this.#outbox.flush();
    const nextWebhook = await this.#history.webhooks.deliverDue();
    if (nextWebhook !== null) this.#scheduleAlarm(nextWebhook);
    const now = Date.now();
    this.#sockets.expired(this.#live.dropExpired(now), (id) => this.#live.has(id), now);
    const nextIdle = this.#sockets.idle((id) => this.#live.idleAt(id), now);
    if (nextIdle !== null) this.#scheduleAlarm(nextIdle);
    this.#refreshWindows.forgetEnded(now);
    this.#rows.deleteExpired(now);
    if (!mirrored) return this.#scheduleAlarm(now + this.#outbox.retryDelay());
    const next = this.#rows.nextExpiry();
    if (next !== null) this.#scheduleAlarm(Math.max(next, now + 1000));
  }

  /** Admin: ends every session (reason "admin") and refuses new ones until `enableAccount`. */
  async disableAccount(): Promise<{ revoked: number }> {
    const now = Date.now();
    const revoked = this.#atomically(() => {
      // Chosen before the flag is set: once it is, no session counts as alive.
      const ending = this.#live.aliveIds(now);
      this.#account.disable(now);
      return this.#revoke(ending, "admin", null, now);
    });
    if (revoked > 0) await this.#flush();
    return { revoked };
  }

  enableAccount(): void {
    this.#account.enable();
  }

  /**
   * Consistency repair: queues every row for D1 again and pushes it, so a D1 row that disagrees
   * (a lost write, a hand edit) is overwritten by this registry's state. Returns the ids live here.
   */
  async remirrorAll(): Promise<{ mirrored: boolean; liveSessionIds: string[] }> {
    this.#rows.requeueAll();
    const mirrored = await this.#outbox.flush();
    return { mirrored, liveSessionIds: this.#live.unexpiredIds(Date.now()) };
  }

  // ---- internals --------------------------------------------------------------------------

  /** Marks live sessions revoked, durably and with their history events, before anyone is told; returns how many ended. */
  #revoke(sessionIds: string[], reason: RevokeReason, by: string | null, now: number): number {
    const ending = sessionIds.filter((id) => this.#live.has(id));
    if (ending.length === 0) return 0;
    this.#atomically(() => {
      for (const id of ending) {
        const device = this.#rows.revoke(id, reason, by, now);
        if (device) this.#history.record({ type: "session_revoked", sessionId: id, details: { reason, revoked_by: revokedBy(reason), by_session_id: by, device } }, now);
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
    if (this.#history.takeWebhookDue()) this.#scheduleAlarm(Date.now());
    return this.#outbox.flush();
  }

  #scheduleAlarm(at: number): void {
    if (this.#alarmAt !== null && this.#alarmAt <= at) return;
    this.#alarmAt = at;
    void this.ctx.storage.setAlarm(at);
  }
}
