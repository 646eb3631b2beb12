import { DurableObject } from "cloudflare:workers";
import type { AuthContext, AuthMethod, RegistrationResponseJSON, StepUpProof } from "../contract/auth";
import type {
  DbscRefreshRequest,
  DbscRefreshResult,
  DbscRegisterResult,
  DbscRegistration,
  DbscRegistrationRefusal,
  DbscSkipReason,
} from "../contract/dbsc";
import { LIVE_REFUSAL_HEADER, liveProofOf } from "../contract/live";
import type { PasskeyChallenge, PasskeyListResult, PasskeyRejected, PasskeyResult } from "../contract/passkeys";
import { deviceDetails, type Place, placeDetails } from "../contract/place";
import {
  type AccountFlag,
  type Actor,
  actorId,
  type Checked,
  type FailedSignIn,
  type InvalidCredentials,
  type NotFound,
  type NoticeAnswered,
  type NoticeSpent,
  type PasswordChange,
  type PasswordChanged,
  type RefreshProof,
  type RefreshResult,
  type Refused,
  type Revoked,
  type SessionListResult,
  type SessionRegistryRpc,
  type SessionResult,
  type SignIn,
  type SignInResult,
  type TrustedActor,
} from "../contract/registry";
import type { NewEvent, RiskFinding } from "../contract/security-events";
import { iso, type RevokeReason, revokedBy, type SessionView, sessionJson } from "../contract/session";
import type { NoticeAnswer, NoticeAnswerVia, RiskNoticeJson } from "../contract/wire";
import { configFrom, DPOP_CLOCK_SKEW_SECONDS } from "../shared/config";
import { verifyDbscRefreshProof } from "../shared/dbsc-proof";
import { mintNoticeLink, NOTICE_LINK_TTL_SECONDS } from "../shared/notice-link";
import { hashRefreshToken, mintFirstRefreshToken, mintRefreshToken, refreshKeys } from "../shared/refresh-token";
import { RegistryAccount } from "./account";
import { PasskeyCeremonies, type UseCheck, type VerifiedUse } from "./ceremonies";
import { CLOCK, type Clock, systemClock } from "./clock";
import { DeviceBoundSessions } from "./dbsc";
import type { EventRow } from "./event-log";
import { isRiskFinding, SecurityHistory } from "./history";
import { checkRefreshProof, KeyBindings, type ProofRefusal } from "./key-binding";
import { LiveSessions } from "./liveness";
import { RiskNotices } from "./notices";
import { MIRROR_GUARD_MS, MirrorOutbox } from "./outbox";
import { type CeremonyPurpose, PasskeyStore, passkeyView } from "./passkeys";
import { RiskWatch } from "./risk";
import { genuineTokenOf, presentedRefreshToken, RefreshWindows, rotationOf } from "./rotation";
import { rowAuth, rowDevice, SessionRows } from "./rows";
import { migrateRegistrySchema, type RegistryRow } from "./schema";
import { planSessionLimit } from "./session-limit";
import { LiveSockets } from "./sockets";
import { UNANSWERED_SIGN_IN_MS, UnansweredSignIns } from "./unanswered";

const refused: Refused = { ok: false, code: "invalid_token" };
const notFound: NotFound = { ok: false, code: "not_found" };
const refusedProof = (refusal: ProofRefusal): Refused => ({
  ok: false,
  code: refusal === "use_dpop_nonce" ? "use_dpop_nonce" : "invalid_dpop_proof",
});
const invalidCredentials: InvalidCredentials = { ok: false, code: "invalid_credentials" };

/**
 * The authority on one user's sessions, and the only writer of their state. Every rotation and
 * revocation runs here, one at a time, so they never race; liveness checks are answered from
 * memory. This class is the RPC surface (`SessionRegistryRpc`) and nothing more: each method
 * decides in one synchronous step over the parts it owns (rows, liveness, rotation, risk,
 * history, outbox, sockets). It is longer than the project's 300 lines on purpose: a Durable Object's
 * RPC surface is one class, and reading every entry point together is how a reviewer checks that
 * each one refuses what it must before it writes.
 *
 * Consistency with D1: a change commits here first (SQLite, same transaction as its `version`
 * bump), then is mirrored to D1. A row whose `version` is ahead of `mirrored_version` is the
 * outbox: if the D1 write fails, the alarm retries it until it lands. D1 never decides liveness,
 * so a failed mirror can delay what admin listings show, never bring a revoked session back.
 * Every transaction that leaves work for D1 or the webhook arms the alarm in the same commit
 * (`#atomically`), and a registry that starts with work pending arms it at once, so a process
 * that dies between the commit and the D1 write strands nothing (docs/storage-schema.md).
 */
export class SessionRegistry extends DurableObject<Env> implements SessionRegistryRpc {
  /** Test seam (see clock.ts): not callable over RPC. */
  [CLOCK]: Clock = systemClock;
  readonly #rows: SessionRows;
  readonly #live: LiveSessions;
  readonly #account: RegistryAccount;
  readonly #outbox: MirrorOutbox;
  readonly #history: SecurityHistory;
  readonly #risk: RiskWatch;
  readonly #passkeys: PasskeyCeremonies;
  readonly #refreshWindows = new RefreshWindows();
  readonly #keys: KeyBindings;
  readonly #dbsc: DeviceBoundSessions;
  readonly #sockets: LiveSockets;
  readonly #notices: RiskNotices;
  readonly #unanswered: UnansweredSignIns;
  #alarmAt: number | null = null;
  /** The earliest wake-up something must have whatever else is pending (deadlines, retries); guards come on top. */
  #naturalAt: number | null = null;
  #inTransaction = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    const now = () => this[CLOCK]();
    this.#sockets = new LiveSockets(ctx, now);
    migrateRegistrySchema(sql);
    this.#account = new RegistryAccount(sql);
    this.#rows = new SessionRows(sql);
    const passkeyStore = new PasskeyStore(sql);
    this.#history = new SecurityHistory(sql, {
      webhook: () => ({ url: configFrom(this.env).securityWebhookUrl, secret: this.env.SECURITY_WEBHOOK_SECRET || null }),
      userId: () => this.#account.userId,
      publish: (event) => this.#sockets.publish(event),
      finding: (eventId, event, at) => this.#openNotice(eventId, event, at),
      webhookExtra: (row) => this.#noticeLinkOf(row),
      now,
    });
    this.#notices = new RiskNotices(sql);
    this.#outbox = new MirrorOutbox(sql, {
      database: () => this.env.DB,
      userId: () => this.#account.userId,
      retryAt: (at) => this.#scheduleAlarm(at),
      events: this.#history.log,
      passkeys: passkeyStore,
      account: this.#account,
      now,
    });
    this.#passkeys = new PasskeyCeremonies(passkeyStore, {
      relyingParty: () => configFrom(this.env).relyingParty,
      refreshSecret: () => this.env.REFRESH_TOKEN_SECRET,
      userId: () => this.#account.userId,
      record: (event, at) => this.#history.record(event, at),
      atomically: (write) => this.#atomically(write),
    });
    this.#risk = new RiskWatch(sql, {
      record: (event, at) => this.#history.record(event, at),
      impossibleTravelKmh: () => configFrom(this.env).impossibleTravelKmh,
      rows: this.#rows,
    });
    this.#live = new LiveSessions(sql, {
      idleTimeoutMs: () => configFrom(this.env).idleTimeoutSeconds * 1000,
      disabled: () => this.#account.disabled,
      mirrorBy: (at) => this.#scheduleAlarm(at),
    });
    this.#live.load(now());
    this.#keys = new KeyBindings(
      sql,
      () => ({ maxAgeMs: configFrom(this.env).dpop.proofMaxAgeSeconds * 1000, skewMs: DPOP_CLOCK_SKEW_SECONDS * 1000 }),
      now(),
    );
    this.#dbsc = new DeviceBoundSessions(sql, () => configFrom(this.env).dbscCookieSeconds * 1000);
    this.#unanswered = new UnansweredSignIns(sql, now());
    void ctx.blockConcurrencyWhile(async () => {
      this.#alarmAt = await ctx.storage.getAlarm();
      // Whatever armed it, it may be needed: kept until it has run.
      this.#naturalAt = this.#alarmAt;
      // A restart after a crash: whatever a dead process left for D1 or the webhook goes out now,
      // not at the next expiry (the alarm also retries what this instance's own flush fails).
      const due = this.#pendingWorkAt(now(), 0);
      if (due !== null) this.#scheduleAlarm(due);
      const unanswered = this.#unanswered.due(now());
      if (unanswered.ids.length > 0 || unanswered.next !== null) this.#armAlarm(unanswered.ids.length > 0 ? now() : unanswered.next!);
    });
  }

  // ---- a session acting for itself --------------------------------------------------------

  sessionCheck(actor: Actor): Checked {
    return this.#acting(actor, this[CLOCK]()) ?? { ok: true };
  }

  sessionGet(actor: Actor): SessionResult {
    return this.#acting(actor, this[CLOCK]()) ?? { ok: true, session: this.#view(actorId(actor)) };
  }

  sessionList(actor: Actor): SessionListResult | Refused {
    return this.#acting(actor, this[CLOCK]()) ?? this.trustedList();
  }

  async sessionRevoke(actor: Actor, target: string): Promise<Revoked | Refused | NotFound> {
    const now = this[CLOCK]();
    const refusal = this.#acting(actor, now);
    if (refusal) return refusal;
    // An idle session of the user is not listed, but it is theirs and has not ended: it can be ended.
    if (!this.#live.unended(target, now)) return notFound;
    const id = actorId(actor);
    return this.#revokeAndFlush([target], target === id ? "signed_out" : "revoked_by_other_device", id, now);
  }

  async sessionRename(actor: Actor, target: string, name: string): Promise<SessionResult | NotFound> {
    const now = this[CLOCK]();
    const refusal = this.#acting(actor, now);
    if (refusal) return refusal;
    if (!this.#live.alive(target, now)) return notFound;
    this.#atomically(() => this.#rows.rename(target, name));
    const session = this.#view(target);
    // Every open device shows the new name at once, not at its next reload.
    this.#sockets.publish({ type: "session_updated", session: sessionJson(session, null) });
    await this.#flush();
    return { ok: true, session };
  }

  async sessionRevokeOthers(actor: Actor, reason: "revoked_by_other_device" | "password_changed"): Promise<Revoked | Refused> {
    const now = this[CLOCK]();
    const refusal = this.#acting(actor, now);
    if (refusal) return refusal;
    const id = actorId(actor);
    return this.#revokeAndFlush(this.#others(id, now), reason, id, now);
  }

  async sessionRevokeAll(actor: Actor): Promise<Revoked | Refused> {
    const now = this[CLOCK]();
    const refusal = this.#acting(actor, now);
    if (refusal) return refusal;
    return this.#revokeAndFlush(this.#live.unendedIds(now), "signed_out_everywhere", actorId(actor), now);
  }

  async sessionSignOut(actor: string): Promise<Revoked> {
    return this.#revokeAndFlush([actor], "signed_out", actor, this[CLOCK]());
  }

  async sessionChangePassword(actor: string, change: PasswordChange): Promise<PasswordChanged | Refused | InvalidCredentials> {
    const now = this[CLOCK]();
    // One transaction is the whole change, so a crash leaves all of it or none of it; the D1 write
    // of the hash it queues is the outbox's, retried from the alarm armed in the same commit.
    const outcome = this.#atomically((): PasswordChanged | Refused | InvalidCredentials => {
      if (!this.#live.alive(actor, now)) return refused;
      const previous = this.#account.credentialsChangedAt();
      // Another change landed after the caller read the password it checked: that check is stale.
      if (previous > change.credentialsSeenAt) return invalidCredentials;
      // Strictly later than the last change, so a sign-in that saw that one is still refused.
      const changedAt = Math.max(now, previous + 1);
      // From now on a sign-in or step-up that checked an older password is refused (signIn)...
      this.#account.credentialsChanged(changedAt);
      this.#account.passwordPending(change.passwordHash, changedAt);
      // ...and every other session ends with it, unless the caller keeps them.
      const revoked = change.signOutOthers ? this.#revoke(this.#others(actor, now), "password_changed", actor, now) : 0;
      const details = { other_sessions_signed_out: change.signOutOthers ? revoked : null, place: placeDetails(change.place) };
      this.#history.record({ type: "password_changed", sessionId: actor, details }, now);
      return { ok: true, changedAt, revoked, stored: false };
    });
    if (!outcome.ok) return outcome;
    return { ...outcome, stored: await this.#flush() };
  }

  async sessionPasswordCheckFailed(actor: string, place: Place): Promise<Checked> {
    const now = this[CLOCK]();
    // Recorded even if the session ended since its liveness check: the guess was made.
    const row = this.#rows.get(actor);
    if (!row) return refused;
    const details = { device: rowDevice(row), place: placeDetails(place) };
    this.#atomically(() => this.#history.record({ type: "password_check_failed", sessionId: actor, details }, now));
    await this.#flush();
    return { ok: true };
  }

  async sessionMirrorHistory(actor: Actor): Promise<{ ok: true; mirrored: boolean } | Refused> {
    const refusal = this.#acting(actor, this[CLOCK]());
    if (refusal) return refusal;
    return { ok: true, mirrored: await this.#flush() };
  }

  async sessionReauthenticate(
    actor: Actor,
    proof: StepUpProof,
    place: Place,
  ): Promise<{ ok: true; auth: AuthContext } | Refused | InvalidCredentials> {
    const refusal = this.#acting(actor, this[CLOCK]());
    if (refusal) return refusal;
    const id = actorId(actor);
    let use: VerifiedUse | null = null;
    if (proof.method === "passkey") {
      const checked = await this.#passkeys.stepUp(id, proof.response, place, () => this[CLOCK]());
      if (!checked.ok) return this.#refusedProof(checked);
      use = checked.use;
    }
    const amr: AuthMethod[] = use ? use.amr : ["pwd"];
    const now = this[CLOCK]();
    const outcome = this.#atomically((): "refused" | "invalid" | null => {
      // Decided with the write: the session may have ended, the password changed, or the passkey gone meanwhile.
      if (!this.#live.alive(id, now)) return "refused";
      if (proof.method === "password" && this.#account.credentialsChangedAt() > proof.credentialsSeenAt) return "invalid";
      if (use && !this.#passkeys.store.used(use.passkey.id, use.counter, use.backedUp, now)) return "invalid";
      this.#rows.reauthenticated(id, now, amr);
      return null;
    });
    if (outcome === "refused") return refused;
    if (outcome === "invalid") return invalidCredentials;
    if (use) await this.#flush();
    return { ok: true, auth: rowAuth(this.#rows.get(id)!) };
  }

  sessionNotices(actor: Actor): { ok: true; notices: RiskNoticeJson[] } | Refused {
    const now = this[CLOCK]();
    return this.#acting(actor, now) ?? { ok: true, notices: this.#notices.list(now) };
  }

  async sessionAnswerNotice(
    actor: Actor,
    noticeId: string,
    answer: NoticeAnswer,
  ): Promise<NoticeAnswered | Refused | NotFound | NoticeSpent> {
    const now = this[CLOCK]();
    const refusal = this.#acting(actor, now);
    if (refusal) return refusal;
    return this.#answerNotice(noticeId, answer, actorId(actor), now);
  }

  // ---- the account's passkeys ---------------------------------------------------------------

  sessionPasskeyChallenge(actor: Actor, purpose: CeremonyPurpose): PasskeyChallenge | Refused {
    const now = this[CLOCK]();
    const userId = this.#account.userId;
    const refusal = this.#acting(actor, now);
    if (refusal || userId === null) return refusal ?? refused;
    const id = actorId(actor);
    return this.#passkeys.challenge(id, purpose, this.#rows.get(id)!.device_name, userId, now);
  }

  async sessionPasskeyRegister(
    actor: Actor,
    registration: { response: RegistrationResponseJSON; name: string | null; place: Place },
  ): Promise<PasskeyResult | Refused | PasskeyRejected> {
    const refusal = this.#acting(actor, this[CLOCK]());
    if (refusal) return refusal;
    const id = actorId(actor);
    const result = await this.#passkeys.register(id, registration, rowDevice(this.#rows.get(id)!), () => this[CLOCK]());
    if (result.ok) this.#passkeysChanged();
    if (result.ok) await this.#flush();
    return result;
  }

  sessionPasskeyList(actor: Actor): PasskeyListResult | Refused {
    const refusal = this.#acting(actor, this[CLOCK]());
    if (refusal) return refusal;
    return { ok: true, passkeys: this.#passkeys.store.list().map(passkeyView) };
  }

  async sessionPasskeyRename(actor: Actor, passkeyId: string, name: string): Promise<PasskeyResult | Refused | NotFound> {
    const refusal = this.#acting(actor, this[CLOCK]());
    if (refusal) return refusal;
    const row = this.#atomically(() => this.#passkeys.store.rename(passkeyId, name));
    if (!row) return notFound;
    this.#passkeysChanged();
    await this.#flush();
    return { ok: true, passkey: passkeyView(row) };
  }

  async sessionPasskeyRemove(actor: Actor, passkeyId: string, place: Place): Promise<{ ok: true } | Refused | NotFound> {
    const now = this[CLOCK]();
    const refusal = this.#acting(actor, now);
    if (refusal) return refusal;
    const id = actorId(actor);
    const removed = this.#atomically(() => {
      const row = this.#passkeys.store.remove(passkeyId, now);
      if (!row) return false;
      const details = { passkey: { id: row.id, name: row.name }, device: rowDevice(this.#rows.get(id)!), place: placeDetails(place) };
      this.#history.record({ type: "passkey_removed", sessionId: id, details }, now);
      return true;
    });
    if (!removed) return notFound;
    this.#passkeysChanged();
    await this.#flush();
    return { ok: true };
  }

  // ---- a credential is presented ----------------------------------------------------------

  async signIn(input: SignIn): Promise<SignInResult> {
    const { sessionId, device, place, proof = { method: "password" } } = input;
    // The proof that binds the session is seen once, like any other (a replayed sign-in is refused);
    // outside the transaction, as the replay cache's memory cannot be rolled back with it. Before the
    // passkey: verifying an assertion spends its challenge, so a `use_dpop_nonce` refusal after it
    // left the client's retry (same assertion, a proof with the nonce) nothing to sign in with.
    const proofRefusal = input.dpop ? this.#keys.remember(input.dpop, this[CLOCK]()) : null;
    if (proofRefusal) return { ok: false, code: proofRefusal === "use_dpop_nonce" ? "use_dpop_nonce" : "invalid_dpop_proof" };
    // A passkey is verified next (it takes awaits); what it proved is committed with the session below.
    let use: VerifiedUse | null = null;
    if (proof.method === "passkey") {
      const checked = await this.#passkeys.signIn(proof.challenge, proof.response, input.userId, place, () => this[CLOCK]());
      if (!checked.ok) return this.#refusedProof(checked);
      use = checked.use;
    }
    const keys = await refreshKeys(this.env.REFRESH_TOKEN_SECRET);
    const token = await mintFirstRefreshToken(keys, input.userId, sessionId);
    const hash = await hashRefreshToken(token);
    const now = this[CLOCK]();
    const config = configFrom(this.env);
    const expiresAt = now + config.refreshTokenTtlSeconds * 1000;
    // Every refusal is decided in the same synchronous step as the insert, so nothing that lands
    // between this call's awaits (a disable, a password change, another sign-in) is missed; so is
    // the session limit, so simultaneous sign-ins end with at most MAX_SESSIONS live sessions.
    const auth: AuthContext = use
      ? { authTime: now, amr: use.amr, signInMethod: "passkey" }
      : { authTime: now, amr: ["pwd"], signInMethod: "password" };
    let dbscChallenge: string | null = null;
    const refusal = this.#atomically(
      (): "account_disabled" | "credentials_changed" | "session_limit_reached" | "invalid_credentials" | null => {
        if (this.#account.disabled) return "account_disabled";
        // A password change recorded after this sign-in read the account: the password it checked is stale.
        if (!use && this.#account.credentialsChangedAt() > input.credentialsSeenAt) return "credentials_changed";
        // The passkey may have been removed while its assertion was being verified.
        if (use && !this.#passkeys.store.used(use.passkey.id, use.counter, use.backedUp, now)) return "invalid_credentials";
        this.#account.claim(input.userId);
        const plan = planSessionLimit(this.#live.summaries(now), config.maxSessions, config.sessionLimitPolicy);
        const evidence = { device: deviceDetails(device), place: placeDetails(place) };
        if (plan.refuse) {
          this.#history.record(
            {
              type: "sign_in_refused",
              sessionId: null,
              details: { reason: "session_limit", max_sessions: config.maxSessions, ...evidence },
            },
            now,
          );
          return "session_limit_reached";
        }
        this.#revoke(plan.evict, "session_limit", sessionId, now);
        this.#rows.insert({ id: sessionId, now, expiresAt, refreshHash: hash, device, place, dpopJkt: input.dpop?.jkt ?? null, auth });
        this.#live.add(sessionId, now, expiresAt, now);
        this.#unanswered.added(sessionId, now);
        if (input.dpop) this.#keys.bind(sessionId, input.dpop.jkt);
        if (input.offerDbsc) dbscChallenge = this.#dbsc.issue(sessionId, "registration", now);
        const passkey = use ? { id: use.passkey.id, name: use.passkey.name } : null;
        this.#history.record({ type: "signed_in", sessionId, details: { ...evidence, method: auth.signInMethod, passkey } }, now);
        this.#risk.signIn(sessionId, device, place, now);
        return null;
      },
    );
    if (refusal === "session_limit_reached") {
      await this.#flush();
      return { ok: false, code: refusal, maxSessions: config.maxSessions };
    }
    if (refusal !== null) return { ok: false, code: refusal };
    this.#scheduleAlarm(expiresAt);
    // Back to end the session if its answer never leaves the Worker (signInAnswered).
    this.#armAlarm(now + UNANSWERED_SIGN_IN_MS);
    const session = this.#view(sessionId);
    // The live channel's `session_created` waits for the confirmation too (#confirm).
    // The D1 mirror is written after the answer, not before (the session is already durable here):
    // by signInAnswered, which the Worker sends once the answer has left, so D1's row lands
    // confirmed in one batch; if that never comes, by the alarm the insert's transaction armed
    // (MIRROR_GUARD_MS), and D1 shows the session unconfirmed until the deadline ends it. D1 never
    // decides liveness, and the paths that read D1 for this user's sessions push the outbox first
    // (sessionMirrorHistory, adminRemirror).
    return { ok: true, session, refreshToken: token.raw, auth, dbscChallenge };
  }

  /**
   * The current token yields its successor; the previous one, inside the grace window, yields the
   * same successor again (two tabs refreshing at once); any earlier genuine token is reuse, and
   * ends the session. `place` is where the request came from: every successful refresh is checked
   * for impossible travel and for a change of country or network.
   */
  async refresh(presented: string, place: Place, proof?: RefreshProof): Promise<RefreshResult> {
    const invalid = { ok: false, code: "invalid_refresh_token", reuseDetected: false } as const;
    const genuine = await presentedRefreshToken(this.env.REFRESH_TOKEN_SECRET, presented, this.#account.userId);
    if (!genuine) return invalid;
    const { token, successor } = genuine;

    // No await from here to the write: the decision and the write are one atomic step.
    const now = this[CLOCK]();
    const row = this.#rows.get(token.sessionId);
    if (!row || row.revoked_at !== null || now >= row.expires_at || !this.#live.alive(row.id, now)) return invalid;
    // A bound session's key is checked first: without it nothing happens, reuse detection included,
    // so someone holding an old token but not the key cannot end the user's session either.
    const bound = checkRefreshProof(this.#keys, row.id, proof, now);
    if (!bound.ok) {
      if (bound.code === "invalid_dpop_proof" && bound.event && this.#keys.recordRejection(row.id, now)) {
        const { reason, jkt } = bound.event;
        const details = {
          reason,
          endpoint: proof?.endpoint ?? "auth_refresh",
          key_thumbprint: jkt,
          device: rowDevice(row),
          place: placeDetails(place),
        };
        this.#history.record({ type: "dpop_proof_rejected", sessionId: row.id, details }, now);
        await this.#flush();
      }
      return { ok: false, code: bound.code };
    }
    // A DBSC-bound session's cookie is worth nothing past its deadline, whoever holds it (a copy
    // kept past its Max-Age): only a proof of the browser's key moves the deadline (dbscRefresh).
    if (this.#dbsc.cookieLapsed(row, now)) {
      if (this.#recordDbscRejection(row, "cookie_lapsed", proof?.endpoint ?? "auth_refresh", null, place, now)) await this.#flush();
      return invalid;
    }
    const config = configFrom(this.env);
    const rotation = rotationOf(row, genuine, now, config.refreshGraceSeconds * 1000);

    // The per-session limit guards what a refresh mints; it is counted only where something is
    // minted, so a replayed old token is always caught as reuse below, never answered with a 429.
    if (rotation === "current" || rotation === "grace") {
      const limited = this.#refreshWindows.count(row.id, now, config.refreshPerSession);
      if (limited) return limited;
      const findings = this.#atomically(() => {
        // The current token yields a new successor; the previous one, in grace, the same one again.
        if (rotation === "current") this.#rows.rotate(row.id, token.generation + 1, genuine.successorHash, genuine.hash, now);
        return this.#risk.refresh(row, place, now);
      });
      this.#live.touched(row.id, now, rotation === "current");
      this.#confirm(row.id, now);
      if (findings > 0) await this.#flush();
      // The session's proof as it stands: a refresh never moves auth_time (RFC 9470 §4).
      const jkt = this.#keys.keyOf(row.id);
      return {
        ok: true,
        userId: token.userId,
        sessionId: row.id,
        refreshToken: successor.raw,
        expiresAt: row.expires_at,
        cookieExpiresAt: this.#dbsc.cookieExpiresAt(row),
        jkt,
        auth: rowAuth(row),
      };
    }
    if (rotation === "reuse") {
      await this.#reuseDetected(row, token.generation, place, now);
      return { ...invalid, reuseDetected: true };
    }
    return invalid;
  }

  async signInAnswered(sessionId: string): Promise<{ ok: true }> {
    // The sign-in's own D1 write waited for this (see signIn), so it lands confirmed, in one batch.
    if (this.#confirm(sessionId, this[CLOCK]())) await this.#flush();
    return { ok: true };
  }

  /**
   * A new session's sign-in reached its client (the answer left, or the session was used): it is
   * no longer shown as unconfirmed, nor ended by the alarm. True the first time only.
   */
  #confirm(sessionId: string, now: number): boolean {
    if (!this.#unanswered.confirm(sessionId, now)) return false;
    // The confirmation moved the row's version: the alarm now guards its D1 write, and drops the deadline.
    this.#settleAlarm();
    // The other devices hear of a sign-in once it has reached its own: one whose answer was lost is
    // never announced (only its end is, which a client that never saw it ignores).
    if (this.#live.alive(sessionId, now))
      this.#sockets.publish({ type: "session_created", session: sessionJson(this.#view(sessionId), null) });
    return true;
  }

  async signOutByRefreshToken(presented: string): Promise<Revoked> {
    const token = await genuineTokenOf(this.env.REFRESH_TOKEN_SECRET, presented, this.#account.userId);
    return token ? this.sessionSignOut(token.sessionId) : { ok: true, revoked: 0 };
  }

  async signInFailed(attempt: FailedSignIn): Promise<{ ok: true }> {
    const now = this[CLOCK]();
    const details = { device: deviceDetails(attempt.device), place: placeDetails(attempt.place), known_device: attempt.knownDevice };
    this.#atomically(() => this.#history.record({ type: "sign_in_failed", sessionId: null, details }, now));
    await this.#flush();
    return { ok: true };
  }

  // ---- a browser's DBSC machinery (docs/dbsc.md) ----------------------------------------------

  async dbscRegister(presented: string, registration: DbscRegistration, place: Place): Promise<DbscRegisterResult> {
    const invalid = { ok: false, code: "invalid_refresh_token" } as const;
    const genuine = await presentedRefreshToken(this.env.REFRESH_TOKEN_SECRET, presented, this.#account.userId);
    if (!genuine) return invalid;
    // No await from here on: the challenge, the binding and the rotation are one step.
    const now = this[CLOCK]();
    const row = this.#liveRow(genuine.token.sessionId, now);
    if (!row) return invalid;
    const rotation = rotationOf(row, genuine, now, configFrom(this.env).refreshGraceSeconds * 1000);
    // Registration follows its sign-in at once; an older token here is no browser's (refresh deals with reuse).
    if (rotation !== "current" && rotation !== "grace") return invalid;
    const outcome = this.#atomically((): { refusal: DbscRegistrationRefusal } | { challenge: string } => {
      const refusal = this.#dbsc.register(row, registration, now);
      if (refusal) {
        this.#recordDbscRejection(row, refusal, "dbsc_register", registration.key?.jkt ?? null, place, now);
        return { refusal };
      }
      const key = registration.key!;
      if (rotation === "current") this.#rows.rotate(row.id, genuine.token.generation + 1, genuine.successorHash, genuine.hash, now);
      const details = { algorithm: key.alg, key_thumbprint: key.jkt, device: rowDevice(row), place: placeDetails(place) };
      this.#history.record({ type: "dbsc_registered", sessionId: row.id, details }, now);
      return { challenge: this.#dbsc.issue(row.id, "refresh", now) };
    });
    await this.#flush();
    if ("refusal" in outcome) return { ok: false, code: "dbsc_registration_refused", reason: outcome.refusal };
    return {
      ok: true,
      sessionId: row.id,
      refreshToken: genuine.successor.raw,
      cookieExpiresAt: this.#dbsc.cookieExpiresAt(this.#rows.get(row.id)!),
      challenge: outcome.challenge,
    };
  }

  /**
   * The proof is checked against the stored key first (awaits), then everything else in one step
   * with liveness: the challenge is consumed, the refresh token rotates (from the presented cookie
   * when the browser still sent one, so grace and reuse hold; otherwise to a fresh token), and the
   * cookie's deadline moves. A valid proof over a used or unknown challenge (Chromium re-sends its
   * last proof) is answered with a new challenge, never a refusal.
   */
  async dbscRefresh(request: DbscRefreshRequest, place: Place): Promise<DbscRefreshResult> {
    const ended = { ok: false, code: "session_ended" } as const;
    const first = this.#liveRow(request.sessionId, this[CLOCK]());
    if (!first) return ended;
    const key = this.#dbsc.keyOf(first);
    if (!key) return { ok: false, code: "not_bound" };
    if (request.proof === null)
      return { ok: false, code: "dbsc_challenge", challenge: this.#dbsc.issue(first.id, "refresh", this[CLOCK]()) };
    const secret = this.env.REFRESH_TOKEN_SECRET;
    const context = { audience: request.audience, identifier: request.identifier, nowSeconds: Math.floor(this[CLOCK]() / 1000) };
    const verdict = await verifyDbscRefreshProof(request.proof, key, context);
    const token = request.presented ? await presentedRefreshToken(secret, request.presented, this.#account.userId) : null;
    // Another session's cookie is no evidence about this one (and must never count as its reuse).
    const presented = token?.token.sessionId === first.id ? token : null;
    const fresh = await mintRefreshToken(await refreshKeys(secret), this.#account.userId ?? "", first.id, first.refresh_generation + 1);
    const freshHash = await hashRefreshToken(fresh);

    // No await from here to the write.
    const now = this[CLOCK]();
    const row = this.#liveRow(first.id, now);
    if (!row) return ended;
    if (!verdict.ok) {
      const reason = verdict.reason === "bad_signature" || verdict.reason === "names_another_key" ? "wrong_key" : "invalid_proof";
      if (this.#recordDbscRejection(row, reason, "dbsc_refresh", null, place, now)) await this.#flush();
      return { ok: false, code: "invalid_dbsc_proof" };
    }
    const config = configFrom(this.env);
    const rotation = presented ? rotationOf(row, presented, now, config.refreshGraceSeconds * 1000) : "invalid";
    if (rotation === "reuse") {
      await this.#reuseDetected(row, presented!.token.generation, place, now);
      return ended;
    }
    // Another rotation landed while this one was being prepared: sign again (rare; never a refusal).
    const stale = rotation === "invalid" && fresh.generation !== row.refresh_generation + 1;
    if (stale || !this.#dbsc.take(row.id, "refresh", verdict.jti, now))
      return { ok: false, code: "dbsc_challenge", challenge: this.#dbsc.issue(row.id, "refresh", now) };
    const limited = this.#refreshWindows.count(row.id, now, config.refreshPerSession);
    if (limited) return limited;
    const { challenge, findings } = this.#atomically(() => {
      if (rotation === "current") this.#rows.rotate(row.id, row.refresh_generation + 1, presented!.successorHash, presented!.hash, now);
      // The cookie's holder is gone (it expired in the browser): its token gets no grace, as it has no successor to repeat.
      else if (rotation === "invalid") this.#rows.rotate(row.id, fresh.generation, freshHash, new Uint8Array(row.refresh_hash), now);
      this.#dbsc.renew(row.id, now);
      return { findings: this.#risk.refresh(row, place, now), challenge: this.#dbsc.issue(row.id, "refresh", now) };
    });
    this.#live.touched(row.id, now, rotation !== "grace");
    if (findings > 0) await this.#flush();
    return {
      ok: true,
      refreshToken: rotation === "invalid" ? fresh.raw : presented!.successor.raw,
      cookieExpiresAt: this.#dbsc.cookieExpiresAt(this.#rows.get(row.id)!),
      challenge,
    };
  }

  async dbscSkipped(sessionId: string, reason: DbscSkipReason, place: Place): Promise<{ ok: true; recorded: boolean }> {
    const now = this[CLOCK]();
    const row = this.#liveRow(sessionId, now);
    // Unauthenticated reports: only about a live bound session, and at most one per session per interval.
    if (!row || row.dbsc_key === null || !this.#dbsc.shouldRecord("skipped", row.id, now)) return { ok: true, recorded: false };
    this.#atomically(() =>
      this.#history.record(
        { type: "dbsc_refresh_skipped", sessionId: row.id, details: { reason, device: rowDevice(row), place: placeDetails(place) } },
        now,
      ),
    );
    await this.#flush();
    return { ok: true, recorded: true };
  }

  // ---- trusted code on the user's behalf ----------------------------------------------------

  trustedList(): SessionListResult {
    const now = this[CLOCK]();
    const sessions = this.#rows
      .unrevoked(now)
      .filter((row) => this.#live.alive(row.id, now))
      .map((row) => this.#live.view(row))
      .sort((a, b) => b.lastActiveAt - a.lastActiveAt || b.createdAt - a.createdAt);
    return { ok: true, sessions };
  }

  async trustedRevoke(target: string, by: TrustedActor): Promise<Revoked> {
    return this.#revokeAndFlush([target], by, null, this[CLOCK]());
  }

  async trustedRevokeAll(by: TrustedActor): Promise<Revoked> {
    const now = this[CLOCK]();
    return this.#revokeAndFlush(this.#live.unendedIds(now), by, null, now);
  }

  async adminDisable(userId: string): Promise<AccountFlag & Revoked> {
    const now = this[CLOCK]();
    const revoked = this.#atomically(() => {
      this.#account.claim(userId);
      // Already disabled: nothing happened, so nothing is recorded (a retried admin call).
      if (!this.#account.disable(now)) return 0;
      const count = this.#revoke(this.#live.unendedIds(now), "admin", null, now);
      this.#history.record({ type: "account_disabled", sessionId: null, details: { actor: "admin", sessions_ended: count } }, now);
      return count;
    });
    const mirrored = await this.#flush();
    return { ok: true, revoked, disabledAt: this.#account.disabledAt, mirrored };
  }

  async adminEnable(userId: string): Promise<AccountFlag & { ok: true }> {
    const now = this[CLOCK]();
    this.#atomically(() => {
      this.#account.claim(userId);
      if (this.#account.enable()) this.#history.record({ type: "account_enabled", sessionId: null, details: { actor: "admin" } }, now);
    });
    const mirrored = await this.#flush();
    return { ok: true, disabledAt: this.#account.disabledAt, mirrored };
  }

  trustedNotice(noticeId: string): { ok: true; notice: RiskNoticeJson; answer: NoticeAnswer | null } | NotFound {
    const found = this.#notices.get(noticeId, this[CLOCK]());
    return found ? { ok: true, ...found } : notFound;
  }

  trustedAnswerNotice(noticeId: string, answer: NoticeAnswer): Promise<NoticeAnswered | NotFound | NoticeSpent> {
    return this.#answerNotice(noticeId, answer, null, this[CLOCK]());
  }

  async adminRemirror(): Promise<{ ok: true; mirrored: boolean; liveSessionIds: string[] }> {
    const now = this[CLOCK]();
    const liveSessionIds = this.#live.unendedIds(now);
    this.#atomically(() => {
      this.#rows.requeueAll();
      this.#passkeys.store.requeueAll();
      // In the user's history like every admin action, and in the same push to D1 as the rows.
      this.#history.record(
        { type: "account_reconciled", sessionId: null, details: { actor: "admin", live_sessions: liveSessionIds.length } },
        now,
      );
    });
    const mirrored = await this.#outbox.flush();
    return { ok: true, mirrored, liveSessionIds };
  }

  // ---- the live channel (docs/live.md) ------------------------------------------------------
  // The Worker verifies the access token and forwards the upgrade with the token's `exp`;
  // liveness is checked here, where revocation happens.

  override fetch(request: Request): Response {
    const upgrade = LiveSockets.upgradeOf(request);
    const now = this[CLOCK]();
    if (upgrade === null || upgrade.tokenExpiresAt <= now) return new Response(null, { status: 401 });
    const dpop = liveProofOf(request);
    const refusal = this.#acting(dpop ? { sessionId: upgrade.sessionId, dpop } : upgrade.sessionId, now);
    if (refusal) return new Response(null, { status: 401, headers: { [LIVE_REFUSAL_HEADER]: refusal.code } });
    // Back at the first of its idle deadline and its token's, to close the socket then.
    this.#scheduleAlarm(Math.min(this.#live.idleAt(upgrade.sessionId)!, upgrade.tokenExpiresAt));
    return this.#sockets.accept(upgrade.sessionId, upgrade.tokenExpiresAt);
  }

  override webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    return this.#sockets.onMessage(socket, message, {
      status: (id, now) => this.#live.status(id, now),
      // The Worker's own check, through the loopback binding: the registry holds no signing keys.
      verify: (token) => this.ctx.exports.LiveTokenCheck.verify(token),
      userId: () => this.#account.userId,
      deadlineAt: (at) => this.#scheduleAlarm(at),
    });
  }

  override webSocketClose(socket: WebSocket, code: number): void {
    this.#sockets.onClose(socket, code);
  }

  override webSocketError(socket: WebSocket): void {
    this.#sockets.onClose(socket, 1011);
  }

  /** Retries the D1 mirror, posts due webhooks, closes sockets past their token or idle deadline, and sets the next wake-up. */
  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    this.#naturalAt = null;
    const unanswered = this.#unanswered.due(this[CLOCK]());
    // Sessions whose sign-in's answer never reached anyone: ended (and recorded) before the flush carries them to D1.
    this.#revoke(unanswered.ids, "sign_in_unanswered", null, this[CLOCK]());
    if (unanswered.next !== null) this.#armAlarm(unanswered.next);
    const mirrored = await this.#outbox.flush();
    const nextWebhook = await this.#history.webhooks.deliverDue();
    if (nextWebhook !== null) this.#scheduleAlarm(nextWebhook);
    const now = this[CLOCK]();
    const expired = this.#live.dropExpired(now);
    for (const id of expired) {
      this.#keys.forget(id);
      this.#unanswered.forget(id);
    }
    this.#sockets.expired(expired, (id) => this.#live.has(id), now);
    const nextDeadline = this.#sockets.sweep((id) => this.#live.idleAt(id), now);
    if (nextDeadline !== null) this.#scheduleAlarm(nextDeadline);
    this.#refreshWindows.forgetEnded(now);
    this.#rows.deleteExpired(now);
    this.#passkeys.store.pruneChallenges(now);
    this.#dbsc.prune(now);
    this.#notices.prune(now);
    if (!mirrored) return this.#scheduleAlarm(now + this.#outbox.retryDelay());
    const next = this.#rows.nextExpiry();
    if (next !== null) this.#scheduleAlarm(Math.max(next, now + 1000));
  }

  // ---- internals ------------------------------------------------------------------------------

  /**
   * The one check of a session acting for itself: live, and for a bound session's request its
   * proof's key and `jti` (one synchronous step, so one proof cannot pass twice). Null when it may act.
   */
  #acting(actor: Actor, now: number): Refused | null {
    const id = actorId(actor);
    if (!this.#live.alive(id, now)) return refused;
    if (typeof actor !== "string") {
      const refusal = this.#keys.admit(id, actor.dpop, now);
      if (refusal) return refusedProof(refusal);
    }
    if (!this.#live.liveNow(id, now)) return refused;
    // Used by someone who holds its token: its sign-in's answer was received.
    this.#confirm(id, now);
    return null;
  }

  /** The session's row while it is live (not revoked, not expired, not idle, account enabled), or null. */
  #liveRow(sessionId: string, now: number): RegistryRow | null {
    const row = this.#rows.get(sessionId);
    return row && row.revoked_at === null && now < row.expires_at && this.#live.alive(row.id, now) ? row : null;
  }

  /** RFC 9700 §4.14.2: a rotated-out refresh token came back; one of its holders is not the user. */
  async #reuseDetected(row: RegistryRow, presentedGeneration: number, place: Place, now: number): Promise<void> {
    this.#atomically(() => {
      const details = {
        presented_generation: presentedGeneration,
        current_generation: row.refresh_generation,
        device: rowDevice(row),
        place: placeDetails(place),
      };
      this.#history.record({ type: "refresh_token_reuse", sessionId: row.id, details }, now);
      this.#revoke([row.id], "refresh_token_reuse", null, now);
    });
    await this.#flush();
  }

  /** Records a DBSC refusal, at most one per session per minute; true when it was recorded (the caller flushes). */
  #recordDbscRejection(
    row: RegistryRow,
    reason: "invalid_proof" | "already_bound" | "stale_challenge" | "wrong_key" | "cookie_lapsed",
    endpoint: "dbsc_register" | "dbsc_refresh" | "auth_refresh" | "oauth_token",
    jkt: string | null,
    place: Place,
    now: number,
  ): boolean {
    if (!this.#dbsc.shouldRecord("rejected", row.id, now)) return false;
    const details = { reason, endpoint, key_thumbprint: jkt, device: rowDevice(row), place: placeDetails(place) };
    this.#atomically(() => this.#history.record({ type: "dbsc_rejected", sessionId: row.id, details }, now));
    return true;
  }

  /**
   * A risk finding was recorded (inside its transaction): the notice it opens (or joins) goes to
   * every open device at once, naming the flagged session's device and where it was.
   */
  #openNotice(eventId: string, event: Extract<NewEvent, { type: RiskFinding }>, now: number): void {
    const row = this.#rows.get(event.sessionId!);
    if (!row) return;
    const place = event.type === "impossible_travel" ? event.details.to : event.details.place;
    const location = { country: place.country, region: place.region, city: place.city };
    const notice = this.#notices.open(eventId, event.type, row.id, rowDevice(row), location, now);
    this.#sockets.publish({ type: "risk_notice", notice });
  }

  /**
   * "Yes, it was me" or "No, sign it out", from a device (`by`, the answering session) or a link
   * (null). One transaction: the notice is answered once, with its history event and, for "No",
   * the flagged session's end; every device then drops the notice.
   */
  async #answerNotice(
    noticeId: string,
    answer: NoticeAnswer,
    by: string | null,
    now: number,
  ): Promise<NoticeAnswered | NotFound | NoticeSpent> {
    const via: NoticeAnswerVia = by === null ? "link" : "device";
    const outcome = this.#atomically((): NoticeAnswered | NotFound | NoticeSpent => {
      const answered = this.#notices.answer(noticeId, answer, via, now);
      if (!answered.ok) return answered.code === "not_found" ? notFound : { ok: false, code: "notice_answered" };
      const details = { notice_id: noticeId, findings: answered.findings, device: answered.device, via, answered_by_session_id: by };
      let revoked = 0;
      if (answer === "reported") {
        revoked = this.#revoke([answered.sessionId], "takeover_reported", by, now);
        this.#history.record(
          { type: "takeover_reported", sessionId: answered.sessionId, details: { ...details, session_signed_out: revoked > 0 } },
          now,
        );
      } else {
        this.#history.record({ type: "risk_acknowledged", sessionId: answered.sessionId, details }, now);
      }
      return { ok: true, answer, sessionId: answered.sessionId, revoked };
    });
    if (!outcome.ok) return outcome;
    this.#sockets.publish({ type: "risk_notice_answered", notice_id: noticeId, session_id: outcome.sessionId, answer, at: iso(now) });
    await this.#flush();
    return outcome;
  }

  /** A risk finding's webhook body carries its notice's signed answer link (docs/devices.md). */
  async #noticeLinkOf(row: EventRow): Promise<Record<string, unknown> | null> {
    const userId = this.#account.userId;
    if (!isRiskFinding(row.type) || userId === null) return null;
    const expiresAt = row.created_at + NOTICE_LINK_TTL_SECONDS * 1000;
    const token = await mintNoticeLink(this.env.REFRESH_TOKEN_SECRET, userId, row.id, expiresAt);
    const url = new URL("/was-this-you", configFrom(this.env).issuer);
    url.searchParams.set("token", token);
    return { notice: { id: row.id, answer_url: url.href, expires_at: iso(expiresAt) } };
  }

  /** A refused proof; a recorded counter regression is mirrored before the caller hears of it. */
  async #refusedProof(checked: Extract<UseCheck, { ok: false }>): Promise<InvalidCredentials> {
    if (checked.recorded) await this.#flush();
    return invalidCredentials;
  }

  /** Every open device reloads its passkey list: a way into the account changed. */
  #passkeysChanged(): void {
    this.#sockets.publish({ type: "passkeys_changed", at: new Date(this[CLOCK]()).toISOString() });
  }

  #view(sessionId: string): SessionView {
    return this.#live.view(this.#rows.get(sessionId)!);
  }

  /** The sessions that have not ended (idle ones included), but the actor's. */
  #others(actor: string, now: number): string[] {
    return this.#live.unendedIds(now).filter((id) => id !== actor);
  }

  async #revokeAndFlush(sessionIds: string[], reason: RevokeReason, by: string | null, now: number): Promise<Revoked> {
    const revoked = this.#revoke(sessionIds, reason, by, now);
    if (revoked > 0) await this.#flush();
    return { ok: true, revoked };
  }

  /** Marks sessions revoked, durably and with their history events, before anyone is told; returns how many ended. */
  #revoke(sessionIds: string[], reason: RevokeReason, by: string | null, now: number): number {
    const ending = sessionIds.filter((id) => this.#live.has(id));
    if (ending.length === 0) return 0;
    // Named before it may end too (logout-all): the signed-out devices are told which device did it.
    const byName = by === null ? undefined : this.#rows.get(by)?.device_name;
    const byDevice = by !== null && byName !== undefined ? { session_id: by, name: byName } : null;
    this.#atomically(() => {
      for (const id of ending) {
        const device = this.#rows.revoke(id, reason, by, now);
        if (device)
          this.#history.record(
            { type: "session_revoked", sessionId: id, details: { reason, revoked_by: revokedBy(reason), by_session_id: by, device } },
            now,
          );
      }
    });
    for (const id of ending) {
      this.#live.delete(id);
      this.#unanswered.forget(id);
      this.#keys.forget(id);
      this.#dbsc.forget(id);
    }
    // Inside the revoking call, so the device is told and cut off before the caller hears "done".
    this.#sockets.ended(ending, { reason, by: byDevice }, now);
    return ending.length;
  }

  /**
   * Runs `write` in one SQLite transaction; nested calls join the outer one. If the write left work
   * for D1 or the webhook, the alarm is armed inside the same transaction: in a SQLite-backed object
   * the alarm is stored with the commit, so the work and its retry are durable together.
   */
  #atomically<T>(write: () => T): T {
    if (this.#inTransaction) return write();
    this.#inTransaction = true;
    try {
      return this.ctx.storage.transactionSync(() => {
        const result = write();
        const due = this.#pendingWorkAt(this[CLOCK](), MIRROR_GUARD_MS);
        if (due !== null) this.#armAlarm(due);
        return result;
      });
    } finally {
      this.#inTransaction = false;
    }
  }

  /**
   * When the alarm must run for what waits in storage: `guardMs` from now for the D1 mirror (the
   * request's own flush usually lands first; the alarm is the retry), or a webhook's due time;
   * null when nothing waits.
   */
  #pendingWorkAt(now: number, guardMs: number): number | null {
    const webhook = this.#history.log.nextWebhookAt();
    const mirror = this.#outbox.pending() ? now + guardMs : null;
    if (webhook === null) return mirror;
    return Math.min(mirror ?? Number.POSITIVE_INFINITY, Math.max(webhook, now));
  }

  /** Mirrors pending changes and events to D1 now, and wakes the alarm for any webhook to post. */
  async #flush(): Promise<boolean> {
    if (this.#history.takeWebhookDue()) this.#scheduleAlarm(this[CLOCK]());
    const mirrored = await this.#outbox.flush();
    if (mirrored) this.#settleAlarm();
    return mirrored;
  }

  /** A wake-up that must happen (a deadline, a retry): the alarm fires no later than `at`. */
  #scheduleAlarm(at: number): void {
    this.#naturalAt = Math.min(this.#naturalAt ?? at, at);
    this.#armAlarm(at);
  }

  /** A guard (pending mirror work, an unconfirmed sign-in): like a deadline, but dropped by `#settleAlarm` once not needed. */
  #armAlarm(at: number): void {
    if (this.#alarmAt !== null && this.#alarmAt <= at) return;
    this.#alarmAt = at;
    void this.ctx.storage.setAlarm(at);
  }

  /**
   * The guards' work is done (a flush landed, a sign-in was confirmed): the alarm goes back to the
   * earliest wake-up still wanted, so a guard does not wake the object for nothing.
   */
  #settleAlarm(): void {
    const now = this[CLOCK]();
    const unanswered = this.#unanswered.due(now);
    const wanted = [this.#naturalAt, this.#pendingWorkAt(now, MIRROR_GUARD_MS), unanswered.ids.length > 0 ? now : unanswered.next]
      .filter((at): at is number => at !== null)
      .reduce<number | null>((earliest, at) => Math.min(earliest ?? at, at), null);
    if (wanted === this.#alarmAt || (wanted !== null && this.#alarmAt !== null && wanted < this.#alarmAt)) return;
    this.#alarmAt = wanted;
    void (wanted === null ? this.ctx.storage.deleteAlarm() : this.ctx.storage.setAlarm(wanted));
  }
}
