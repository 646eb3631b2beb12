// The crash test's clients: HTTP the way a device sees it, and what each device was told.
//
// Every answer a client receives is recorded here as the client would keep it: a session is "live"
// once its sign-in or rotation was answered, "revoked" once a revoking call was answered 2xx. A
// request the crash cut off (no answer, or a 5xx) leaves what it touched pending: the audit decides
// after the restart which way it went, and whether that way is allowed.

/** Device User-Agents: a laptop, a phone and a tablet (the suite's own three). */
const USER_AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
];
const WORDS = ["amber", "quarry", "violet", "harbor", "pebble", "meadow", "lantern", "cobalt", "thistle", "juniper", "saffron", "glacier"];
const REQUEST_TIMEOUT_MS = 30_000;

/** A small seeded generator (mulberry32), so a run's choices can be replayed with --seed. */
export function random(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (list) => list[Math.floor(next() * list.length)],
    between: (lo, hi) => lo + next() * (hi - lo),
  };
}

export class Session {
  constructor(user, answer, transport, refreshToken, at) {
    this.user = user;
    this.id = answer.session.id;
    this.transport = transport;
    this.refresh = refreshToken;
    /** The generation before `refresh` and when its rotation was answered. */
    this.prev = null;
    this.access = answer.access_token;
    this.accessAt = at;
    /** live | revoked (an answered revocation) | ended (found ended after an unanswered one) */
    this.state = "live";
    this.revokedAt = null;
    this.audited = false;
    /** What an unanswered request may have done to it: null | "refresh" | "revoke" | "password". */
    this.pending = null;
    /** A refusal the load saw on a session it thought live: the audit classifies it. */
    this.refusedDuringLoad = null;
  }
}

export class User {
  constructor(email, password) {
    this.email = email;
    this.password = password;
    this.id = null;
    this.sessions = [];
    /** Every session id of this user ever seen, ours or not (orphans). */
    this.known = new Set();
    this.busy = false;
    /** Password changes in force (answered, or found done after a crash): the history must show each once. */
    this.passwordChanges = 0;
    /** Answered changes since the last audit: [{ old, new }]. */
    this.changedPasswords = [];
    /** An unanswered change: { old, new, caller, others }. */
    this.pendingPassword = null;
  }

  live() {
    return this.sessions.filter((s) => s.state === "live" && s.pending === null && s.refusedDuringLoad === null);
  }
}

/** The clients' state, the counts and the HTTP side. */
export class Clients {
  constructor({ rng, run, stats }) {
    this.rng = rng;
    this.run = run;
    this.stats = stats;
    this.base = null;
    this.users = [];
    /** Unanswered signups and logins, for the audit. */
    this.lostSignups = [];
    this.lostLogins = [];
    /** Unanswered logout-others / logout-all: each group must have gone all one way. */
    this.lostGroups = [];
    this.phase = "load";
    this.emailCount = 0;
  }

  newPassword() {
    const r = this.rng;
    return `${r.pick(WORDS)} ${r.pick(WORDS)} ${r.pick(WORDS)} ${1000 + r.int(9000)}`;
  }

  newEmail() {
    return `crash-${this.run}-${(this.emailCount++).toString(36)}@example.com`;
  }

  /** 198.18.0.0/15 (RFC 2544 benchmarking): a fresh client address, so no per-IP limit is shared. */
  ip() {
    return `198.${18 + this.rng.int(2)}.${this.rng.int(256)}.${1 + this.rng.int(254)}`;
  }

  /** One request; `status` 0 means no answer (the runtime died under it). */
  async req(method, path, { json, bearer, cookie, browser = false, ua, admin } = {}) {
    const headers = { "CF-Connecting-IP": this.ip(), "User-Agent": ua ?? USER_AGENTS[0] };
    if (json !== undefined) headers["Content-Type"] = "application/json";
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    if (admin) headers.Authorization = `Bearer ${admin}`;
    if (cookie) headers.Cookie = `__Host-refresh_token=${cookie}`;
    // A browser sends its own Origin on a cookie request: the CSRF rule lets exactly that through.
    if (browser) headers.Origin = this.base;
    this.stats.requests[this.phase]++;
    const started = performance.now();
    try {
      const response = await fetch(this.base + path, {
        method,
        headers,
        body: json === undefined ? undefined : JSON.stringify(json),
        redirect: "manual",
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await response.text();
      let body;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {}
      return { status: response.status, body, cookies: response.headers.getSetCookie(), ms: performance.now() - started };
    } catch (error) {
      return { status: 0, body: undefined, cookies: [], error, ms: performance.now() - started };
    }
  }

  /** Answered 2xx, refused 4xx, or lost: no answer, or a 5xx (the client cannot know what happened). */
  static outcome(answer) {
    if (answer.status >= 200 && answer.status < 300) return "ok";
    if (answer.status >= 400 && answer.status < 500) return "refused";
    return "lost";
  }

  latency(kind, answer) {
    if (Clients.outcome(answer) === "lost") return;
    (this.stats.latency[kind] ??= []).push(answer.ms);
  }

  static refreshCookie(answer) {
    for (const line of answer.cookies) {
      const match = /^__Host-refresh_token=([^;]*)/.exec(line);
      if (match?.[1]) return decodeURIComponent(match[1]);
    }
    return null;
  }

  // ---- sign-in ------------------------------------------------------------------------------

  async signUp() {
    const user = new User(this.newEmail(), this.newPassword());
    const transport = this.rng.next() < 0.3 ? "cookie" : "body";
    const answer = await this.req("POST", "/v1/auth/signup", {
      json: { email: user.email, password: user.password, token_transport: transport },
      browser: transport === "cookie",
      ua: this.rng.pick(USER_AGENTS),
    });
    this.latency("signup", answer);
    const outcome = Clients.outcome(answer);
    if (outcome === "lost") {
      this.stats.lost.signups++;
      this.lostSignups.push(user);
      return null;
    }
    if (outcome === "refused") return this.unexpected("signup", answer);
    user.id = answer.body.user.id;
    this.users.push(user);
    this.adopt(user, answer, transport);
    this.stats.acked.signups++;
    return user;
  }

  /** A login; `password` defaults to the one in force. Resolves to the new session, "refused" or "lost". */
  async logIn(user, password = user.password) {
    const transport = this.rng.next() < 0.3 ? "cookie" : "body";
    const answer = await this.req("POST", "/v1/auth/login", {
      json: { email: user.email, password, token_transport: transport },
      browser: transport === "cookie",
      ua: this.rng.pick(USER_AGENTS),
    });
    this.latency("login", answer);
    const outcome = Clients.outcome(answer);
    if (outcome === "lost") {
      this.stats.lost.logins++;
      this.lostLogins.push(user);
      return "lost";
    }
    if (outcome === "refused") {
      if (answer.status !== 401) this.unexpected("login", answer);
      return answer.status === 401 ? "refused" : "lost";
    }
    this.stats.acked.logins++;
    return this.adopt(user, answer, transport);
  }

  adopt(user, answer, transport) {
    const token = transport === "cookie" ? Clients.refreshCookie(answer) : answer.body.refresh_token;
    const session = new Session(user, answer.body, transport, token, Date.now());
    user.sessions.push(session);
    user.known.add(session.id);
    return session;
  }

  // ---- one session's own calls ----------------------------------------------------------------

  /** Presents the newest refresh token this client was given. */
  async refresh(session) {
    const token = session.refresh;
    const answer = await this.presentRefresh(session, token);
    this.latency("refresh", answer);
    const outcome = Clients.outcome(answer);
    if (outcome === "ok") {
      this.rotated(session, token, answer);
      if (this.phase === "load") this.stats.acked.refreshes++;
      else this.stats.acked.auditRefreshes++;
    } else if (outcome === "lost") {
      session.pending = "refresh";
      this.stats.lost.refreshes++;
    } else if (answer.status === 401) {
      session.refusedDuringLoad ??= `refresh refused ${answer.body?.code}`;
    } else this.unexpected("refresh", answer);
    return outcome;
  }

  presentRefresh(session, token) {
    return session.transport === "cookie"
      ? this.req("POST", "/v1/auth/refresh", { cookie: token, browser: true })
      : this.req("POST", "/v1/auth/refresh", { json: { refresh_token: token } });
  }

  rotated(session, presented, answer) {
    const next = session.transport === "cookie" ? Clients.refreshCookie(answer) : answer.body.refresh_token;
    if (next !== presented) session.prev = { token: presented, at: Date.now() };
    session.refresh = next;
    session.access = answer.body.access_token;
    session.accessAt = Date.now();
  }

  /** GET /v1/sessions with the session's access token: the registry's list, as the user sees it. */
  async list(session) {
    const answer = await this.req("GET", "/v1/sessions", { bearer: session.access });
    this.latency("list", answer);
    if (answer.status === 401 && this.phase === "load" && session.state === "live") session.refusedDuringLoad ??= "access token refused";
    return answer;
  }

  /** DELETE /v1/sessions/{target} by `caller`. */
  async revokeOther(caller, target) {
    const answer = await this.req("DELETE", `/v1/sessions/${target.id}`, { bearer: caller.access });
    this.latency("revoke", answer);
    const outcome = Clients.outcome(answer);
    if (outcome === "ok") this.revoked([target], "device");
    else if (outcome === "lost") this.lose([target], "revoke");
    else {
      // 404: the target is not live, though this client was never told it ended.
      if (answer.status === 404) target.refusedDuringLoad ??= "revocation answered 404";
      this.unexpected("revoke", answer, caller);
    }
    return outcome;
  }

  /** POST /v1/auth/logout: the cookie for a browser session, the access token otherwise. */
  async logout(session) {
    const answer =
      session.transport === "cookie"
        ? await this.req("POST", "/v1/auth/logout", { cookie: session.refresh, browser: true })
        : await this.req("POST", "/v1/auth/logout", { bearer: session.access });
    this.latency("revoke", answer);
    const outcome = Clients.outcome(answer);
    if (outcome === "ok") this.revoked([session], "signedOut");
    else if (outcome === "lost") this.lose([session], "revoke");
    else this.unexpected("logout", answer, session);
    return outcome;
  }

  /** logout-others (`all` false) or logout-all. */
  async revokeMany(caller, all) {
    const ended = caller.user.sessions.filter((s) => s.state === "live" && (all || s !== caller));
    const answer = await this.req("POST", all ? "/v1/auth/logout-all" : "/v1/auth/logout-others", { bearer: caller.access });
    this.latency("revoke", answer);
    const outcome = Clients.outcome(answer);
    if (outcome === "ok") {
      this.stats.acked.revokeAllCalls++;
      this.revoked(ended, "revokeAll");
    } else if (outcome === "lost") {
      this.lose(ended, "revoke");
      this.lostGroups.push({ kind: all ? "logout-all" : "logout-others", sessions: ended });
    } else this.unexpected(all ? "logout-all" : "logout-others", answer, caller);
    return outcome;
  }

  async changePassword(caller) {
    const user = caller.user;
    const change = { old: user.password, new: this.newPassword() };
    const others = user.sessions.filter((s) => s.state === "live" && s !== caller);
    user.hadPasswordAttempt = true;
    const answer = await this.req("POST", "/v1/auth/password", {
      bearer: caller.access,
      json: { current_password: change.old, new_password: change.new, sign_out_others: true },
    });
    this.latency("password", answer);
    const outcome = Clients.outcome(answer);
    if (outcome === "ok") {
      user.password = change.new;
      user.passwordChanges++;
      user.changedPasswords.push(change);
      this.stats.acked.passwordChanges++;
      this.revoked(others, "passwordChange");
    } else if (outcome === "lost") {
      this.stats.lost.passwordChanges++;
      user.pendingPassword = { ...change, caller, others };
      for (const s of others) s.pending = "password";
    } else this.unexpected("password", answer, caller);
    return outcome;
  }

  revoked(sessions, how) {
    for (const s of sessions) {
      if (s.state !== "live") continue;
      s.state = "revoked";
      s.revokedAt = Date.now();
      s.audited = false;
      this.stats.acked.revoked[how]++;
    }
  }

  lose(sessions, pending) {
    const live = sessions.filter((s) => s.state === "live");
    for (const s of live) s.pending = pending;
    this.stats.lost.revocations += live.length;
  }

  /** A refusal nobody expected in the load (a caller that was refused is classified by the audit). */
  unexpected(kind, answer, caller) {
    if (answer.status === 401 && caller) caller.refusedDuringLoad ??= `${kind} refused ${answer.body?.code}`;
    const key = `${kind} ${answer.status} ${answer.body?.code ?? ""}`.trim();
    this.stats.unexpected[key] = (this.stats.unexpected[key] ?? 0) + 1;
    return null;
  }
}
