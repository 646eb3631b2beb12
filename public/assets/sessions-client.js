// @ts-check
/**
 * A small browser client for edge-sessions (see client/README.md). Plain ES module with JSDoc
 * types, so browsers load it as is and TypeScript checks it (`npm run typecheck`).
 *
 * - The access token lives in this object only: never localStorage/sessionStorage, never a URL.
 * - The refresh token is the HttpOnly cookie; this client never sees it.
 * - It refreshes shortly before expiry. Tabs of one browser share the cookie, so they take a Web
 *   Lock around the refresh (one tab rotates at a time) and share the result on a
 *   BroadcastChannel (same origin only), so the others skip their own refresh.
 * - A `session_revoked` for this session, from the live channel or a refused token, clears state.
 */

/** @typedef {{ type: string; session_id?: string; [key: string]: unknown }} LiveEvent */
/** @typedef {{ type: string; title?: string; status: number; code: string; detail?: string }} Problem */
/** @typedef {{ id: string; email: string; created_at: string }} User */
/**
 * @typedef {"signedin" | "signedout" | "live" | "connection"} ClientEventName
 * `signedout` detail: `{ reason: "signed_out" | "revoked" | "expired" }`;
 * `live` detail: a LiveEvent; `connection` detail: `{ state: "open" | "reconnecting" | "closed" }`.
 */

const LIVE_PROTOCOL = "sessions.v1";
/** Close codes of the live channel (docs/live.md). */
export const CLOSE_SESSION_REVOKED = 4001;
export const CLOSE_SESSION_EXPIRED = 4002;
export const CLOSE_REPLACED = 4008;

export class ApiProblem extends Error {
  /** @param {Problem} problem */
  constructor(problem) {
    super(problem.detail ?? problem.title ?? problem.code);
    this.status = problem.status;
    this.code = problem.code;
  }
}

export class SessionsClient extends EventTarget {
  /** @type {string | null} */ #accessToken = null;
  /** @type {number} */ #expiresAt = 0;
  /** @type {string | null} */ #sessionId = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #refreshTimer;
  /** @type {WebSocket | null} */ #socket = null;
  /** @type {number} */ #reconnectDelay = 1000;
  /** @type {ReturnType<typeof setInterval> | undefined} */ #pingTimer;
  #live = false;
  #channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("edge-sessions") : null;

  /** @param {{ baseUrl?: string; refreshMarginSeconds?: number }} [options] */
  constructor(options = {}) {
    super();
    this.baseUrl = options.baseUrl ?? "";
    this.refreshMarginMs = (options.refreshMarginSeconds ?? 60) * 1000;
    this.#channel?.addEventListener("message", (event) => this.#onTabMessage(event.data));
  }

  get signedIn() {
    return this.#accessToken !== null;
  }

  /** The id of this browser's session (the token's `sid`), or null. */
  get sessionId() {
    return this.#sessionId;
  }

  /** @param {string} email @param {string} password @param {string} [deviceName] */
  signIn(email, password, deviceName) {
    return this.#start("/v1/auth/login", { email, password, ...(deviceName ? { device_name: deviceName } : {}) });
  }

  /** @param {string} email @param {string} password @param {string} [deviceName] */
  signUp(email, password, deviceName) {
    return this.#start("/v1/auth/signup", { email, password, ...(deviceName ? { device_name: deviceName } : {}) });
  }

  /**
   * Signs in with a passkey: the assertion JSON for the options of POST /v1/auth/passkey/options.
   * @param {unknown} response @param {string} [deviceName]
   */
  signInWithPasskey(response, deviceName) {
    return this.#start("/v1/auth/passkey", { response, ...(deviceName ? { device_name: deviceName } : {}) });
  }

  /**
   * Step-up (RFC 9470): proves who the user is again, in this session, after the server answered
   * `step_up_required`. The new access token (fresh `auth_time`) replaces the current one, in every tab.
   * @param {{ password: string } | { response: unknown }} proof
   */
  async reauthenticate(proof) {
    const result = await this.api("/v1/auth/reauthenticate", { method: "POST", json: proof });
    this.#accept(result.access_token, result.expires_in, true);
  }

  /** Picks up an existing session from the refresh cookie (page load). Resolves false when there is none. */
  async resume() {
    try {
      await this.#refresh(true);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * `fetch` with the bearer token. A refused token is refreshed once and the call retried; if the
   * session is gone, the client signs out locally. Resolves the JSON body (or null on 204).
   * @param {string} path @param {RequestInit & { json?: unknown }} [init]
   */
  async api(path, init = {}) {
    if (!this.#accessToken) throw new ApiProblem({ type: "", status: 401, code: "invalid_token" });
    if (Date.now() > this.#expiresAt - 5000) await this.#refresh(false);
    let response = await this.#send(path, init);
    // Only a refused token is worth a refresh; a wrong password (also 401) is not retried.
    if (response.status === 401 && /invalid_token/.test(response.headers.get("WWW-Authenticate") ?? "")) {
      await this.#refresh(true).catch(() => {});
      if (!this.#accessToken) throw new ApiProblem({ type: "", status: 401, code: "invalid_token" });
      response = await this.#send(path, init);
    }
    return readBody(response);
  }

  /** Ends this session on the server and everywhere in this browser. */
  async signOut() {
    // Stop listening first: the server's own `session_revoked` for this logout is not news.
    this.#live = false;
    const socket = this.#socket;
    this.#socket = null;
    socket?.close(1000);
    const headers = this.#accessToken ? { Authorization: `Bearer ${this.#accessToken}` } : undefined;
    await fetch(`${this.baseUrl}/v1/auth/logout`, { method: "POST", headers, credentials: "same-origin" }).catch(() => {});
    this.#clear("signed_out", true);
  }

  /** Opens the live channel; events arrive as `live` events. Reconnects until signed out. */
  connectLive() {
    this.#live = true;
    this.#openSocket();
  }

  // ---- internals ----------------------------------------------------------------------------

  /** @param {string} path @param {Record<string, unknown>} body */
  async #start(path, body) {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    const result = await readBody(response);
    this.#accept(result.access_token, result.expires_in, true);
    return /** @type {{ user: User }} */ (result);
  }

  /** @param {string} path @param {RequestInit & { json?: unknown }} options */
  #send(path, options) {
    const { json, headers, ...init } = options;
    const all = new Headers(headers);
    all.set("Authorization", `Bearer ${this.#accessToken}`);
    if (json !== undefined) all.set("Content-Type", "application/json");
    return fetch(`${this.baseUrl}${path}`, {
      ...init,
      headers: all,
      credentials: "same-origin",
      ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
    });
  }

  /**
   * One refresh at a time across tabs. Inside the lock, a token another tab just shared is used
   * instead of rotating again (`force` skips that check when the current token was refused).
   * @param {boolean} force
   */
  async #refresh(force) {
    const stale = this.#accessToken;
    const run = async () => {
      const fresh = this.#accessToken !== null && this.#accessToken !== stale;
      if (!force && this.#accessToken && (fresh || Date.now() < this.#expiresAt - this.refreshMarginMs)) return;
      if (force && fresh) return;
      const response = await fetch(`${this.baseUrl}/v1/auth/refresh`, { method: "POST", credentials: "same-origin" });
      if (response.status === 401) {
        this.#clear("expired", true);
        throw new ApiProblem({ type: "", status: 401, code: "invalid_refresh_token" });
      }
      const result = await readBody(response);
      this.#accept(result.access_token, result.expires_in, true);
    };
    if (navigator.locks) await navigator.locks.request("edge-sessions:refresh", run);
    else await run();
  }

  /** @param {string} token @param {number} expiresInSeconds @param {boolean} share */
  #accept(token, expiresInSeconds, share) {
    const wasSignedIn = this.#accessToken !== null;
    this.#accessToken = token;
    this.#expiresAt = Date.now() + expiresInSeconds * 1000;
    this.#sessionId = sessionIdOf(token);
    clearTimeout(this.#refreshTimer);
    const delay = Math.max(1000, this.#expiresAt - Date.now() - this.refreshMarginMs);
    this.#refreshTimer = setTimeout(() => void this.#refresh(false).catch(() => {}), delay);
    if (share) this.#channel?.postMessage({ type: "token", token, expiresInSeconds });
    if (!wasSignedIn) this.dispatchEvent(new CustomEvent("signedin"));
  }

  /** @param {"signed_out" | "revoked" | "expired"} reason @param {boolean} share */
  #clear(reason, share) {
    const wasSignedIn = this.#accessToken !== null;
    this.#accessToken = null;
    this.#sessionId = null;
    this.#expiresAt = 0;
    this.#live = false;
    clearTimeout(this.#refreshTimer);
    clearInterval(this.#pingTimer);
    this.#socket?.close(1000);
    this.#socket = null;
    if (!wasSignedIn) return;
    if (share) this.#channel?.postMessage({ type: "signed_out", reason });
    this.dispatchEvent(new CustomEvent("signedout", { detail: { reason } }));
  }

  /** @param {any} message */
  #onTabMessage(message) {
    // Tabs share one cookie, hence one session: a token or a sign-out in one tab holds for all.
    if (message?.type === "token" && typeof message.token === "string") this.#accept(message.token, message.expiresInSeconds, false);
    if (message?.type === "signed_out" && this.#accessToken !== null) this.#clear(message.reason, false);
  }

  #openSocket() {
    if (!this.#live || !this.#accessToken) return;
    const url = new URL(`${this.baseUrl}/v1/sessions/live`, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    // The token rides in the subprotocol list, not the URL: URLs are logged, this header is not echoed.
    const socket = new WebSocket(url, [LIVE_PROTOCOL, `bearer.${this.#accessToken}`]);
    this.#socket = socket;
    socket.addEventListener("open", () => {
      this.#reconnectDelay = 1000;
      this.#pingTimer = setInterval(() => socket.readyState === WebSocket.OPEN && socket.send("ping"), 30_000);
      this.dispatchEvent(new CustomEvent("connection", { detail: { state: "open" } }));
    });
    socket.addEventListener("message", (event) => {
      if (event.data === "pong") return;
      /** @type {LiveEvent} */
      const live = JSON.parse(String(event.data));
      if (live.type === "session_revoked" && live.session_id === this.#sessionId)
        return this.#clear(live.reason === "signed_out" ? "signed_out" : "revoked", true);
      if (live.type === "session_expired" && live.session_id === this.#sessionId) return this.#clear("expired", true);
      this.dispatchEvent(new CustomEvent("live", { detail: live }));
    });
    socket.addEventListener("close", (event) => {
      clearInterval(this.#pingTimer);
      if (this.#socket !== socket) return;
      this.#socket = null;
      if (event.code === CLOSE_SESSION_REVOKED) return this.#clear("revoked", true);
      if (event.code === CLOSE_SESSION_EXPIRED) return this.#clear("expired", true);
      // Replaced by a newer socket of this session: reconnecting would only close another tab's.
      if (event.code === CLOSE_REPLACED) return void this.dispatchEvent(new CustomEvent("connection", { detail: { state: "closed" } }));
      this.#reconnectLater();
    });
  }

  #reconnectLater() {
    if (!this.#live || !this.#accessToken) return;
    this.dispatchEvent(new CustomEvent("connection", { detail: { state: "reconnecting" } }));
    const delay = this.#reconnectDelay;
    this.#reconnectDelay = Math.min(this.#reconnectDelay * 2, 30_000);
    // A refused handshake looks like any other drop to a browser; refreshing first tells them
    // apart (a dead session fails the refresh and signs out), and gives the new socket a fresh token.
    setTimeout(
      () =>
        void this.#refresh(true).then(
          () => this.#openSocket(),
          () => this.#reconnectLater(),
        ),
      delay,
    );
  }
}

/** @param {Response} response */
async function readBody(response) {
  if (response.status === 204) return null;
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiProblem(body ?? { type: "", status: response.status, code: "http_" + response.status });
  return body;
}

/** The `sid` claim, read without verifying: only to recognise events about this session. @param {string} token */
function sessionIdOf(token) {
  try {
    const payload = token.split(".")[1] ?? "";
    return JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))).sid ?? null;
  } catch {
    return null;
  }
}
