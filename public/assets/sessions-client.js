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
 * - The live socket lives no longer than the access token it was opened with: each new token is
 *   sent over the open socket (`authenticate`), so the socket lives on; if one is missed, the
 *   socket closes with 4003 and the client refreshes and reconnects.
 * - DPoP (RFC 9449): the client keeps a non-extractable ECDSA P-256 key in IndexedDB and signs a
 *   proof for sign-in (which binds the session to the key), every refresh, every API call and the
 *   live channel, so a copied refresh cookie or access token is useless without this browser's key.
 *   Tabs share the key (created once, under a Web Lock); the clock is corrected from `Date`, and a
 *   `use_dpop_nonce` refusal is retried once with the server's nonce. Without IndexedDB or WebCrypto
 *   the session is simply not bound.
 */

/** @typedef {{ type: string; session_id?: string; [key: string]: unknown }} LiveEvent */
/** @typedef {{ type: string; title?: string; status: number; code: string; detail?: string; errors?: { field: string; message: string }[] }} Problem */
/** @typedef {{ id: string; email: string; created_at: string }} User */
/**
 * @typedef {"signedin" | "signedout" | "live" | "connection"} ClientEventName
 * `signedout` detail: `{ reason: "signed_out" | "revoked" | "expired", event: LiveEvent | null }`, where
 * `event` is the live channel's `session_revoked` / `session_expired` for this session when that is
 * how the client learnt of it (its `reason`, `by` and `cause` say why: docs/live.md);
 * `live` detail: a LiveEvent; `connection` detail: `{ state: "open" | "reconnecting" | "closed" }`.
 */

const LIVE_PROTOCOL = "sessions.v1";
const KEY_DB = "edge-sessions";
const KEY_STORE = "keys";
const KEY_NAME = "dpop";
/** Close codes of the live channel (docs/live.md). */
export const CLOSE_SESSION_REVOKED = 4001;
export const CLOSE_SESSION_EXPIRED = 4002;
/** The socket's access token expired without a fresh one sent over it: refresh, then reconnect. */
export const CLOSE_TOKEN_EXPIRED = 4003;
/** A token sent over the socket was refused: refresh, then reconnect. */
export const CLOSE_TOKEN_REFUSED = 4004;
export const CLOSE_REPLACED = 4008;

export class ApiProblem extends Error {
  /** @param {Problem} problem */
  constructor(problem) {
    super(problem.detail ?? problem.title ?? problem.code);
    this.status = problem.status;
    this.code = problem.code;
    /** `validation_failed`: which fields, and what is wrong with each. @type {{ field: string; message: string }[]} */
    this.errors = Array.isArray(problem.errors)
      ? problem.errors.filter((e) => e && typeof e.field === "string" && typeof e.message === "string")
      : [];
  }
}

export class SessionsClient extends EventTarget {
  /** @type {string | null} */ #accessToken = null;
  /** @type {"Bearer" | "DPoP"} */ #tokenType = "Bearer";
  /** @type {Promise<DpopKey | null> | null} */ #dpopKey = null;
  /** Server time minus local time (ms), from `Date`: proofs carry the server's idea of now. */
  #clockOffsetMs = 0;
  /** @type {string | null} The server's latest DPoP nonce (RFC 9449 §8). */ #nonce = null;
  /** @type {number} */ #expiresAt = 0;
  /** @type {string | null} */ #sessionId = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #refreshTimer;
  /** @type {WebSocket | null} */ #socket = null;
  /** @type {number} */ #reconnectDelay = 1000;
  /** @type {ReturnType<typeof setInterval> | undefined} */ #pingTimer;
  #live = false;
  #channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("edge-sessions") : null;

  /** @param {{ baseUrl?: string; refreshMarginSeconds?: number; dpop?: boolean }} [options] */
  constructor(options = {}) {
    super();
    this.baseUrl = options.baseUrl ?? "";
    this.refreshMarginMs = (options.refreshMarginSeconds ?? 60) * 1000;
    /** Whether to bind sessions to a key of this browser (DPoP); on by default. */
    this.dpop = options.dpop ?? true;
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
    this.#accept(result.access_token, result.token_type, result.expires_in, true);
  }

  /**
   * Picks up an existing session from the refresh cookie (page load). Resolves false when there is
   * none: without the server's `__Host-signed_in` marker (set and cleared with the HttpOnly refresh
   * cookie) no refresh is tried, so a fresh visit sends no request that is sure to fail.
   */
  async resume() {
    if (!/(?:^|;\s*)__Host-signed_in=/.test(document.cookie)) return false;
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
    const headers = this.#accessToken ? await this.#authorization("POST", "/v1/auth/logout") : {};
    await fetch(`${this.baseUrl}/v1/auth/logout`, { method: "POST", headers, credentials: "same-origin" }).catch(() => {});
    this.#clear("signed_out", true);
  }

  /** Opens the live channel; events arrive as `live` events. Reconnects until signed out. */
  connectLive() {
    this.#live = true;
    void this.#openSocket();
  }

  // ---- internals ----------------------------------------------------------------------------

  /** A sign-in with a proof binds the new session to this browser's key. @param {string} path @param {Record<string, unknown>} body */
  async #start(path, body) {
    const response = await this.#proving(path, async () => ({
      method: "POST",
      headers: { "Content-Type": "application/json", ...(await this.#proofHeader("POST", path)) },
      body: JSON.stringify(body),
      credentials: "same-origin",
    }));
    const result = await readBody(response);
    this.#accept(result.access_token, result.token_type, result.expires_in, true);
    return /** @type {{ user: User }} */ (result);
  }

  /** @param {string} path @param {RequestInit & { json?: unknown }} options */
  #send(path, options) {
    const { json, headers, ...init } = options;
    const method = (init.method ?? "GET").toUpperCase();
    return this.#proving(path, async () => {
      const all = new Headers(headers);
      for (const [name, value] of Object.entries(await this.#authorization(method, path))) all.set(name, value);
      if (json !== undefined) all.set("Content-Type", "application/json");
      return { ...init, headers: all, credentials: "same-origin", ...(json !== undefined ? { body: JSON.stringify(json) } : {}) };
    });
  }

  /**
   * Sends a request built by `build` (called again for a retry, so each try gets its own proof),
   * learns the server's clock and nonce from the answer, and retries once when the server asks
   * for a nonce (RFC 9449 §8-9) or refused a proof while this clock was off.
   * @param {string} path @param {() => Promise<RequestInit>} build
   */
  async #proving(path, build) {
    const url = `${this.baseUrl}${path}`;
    let response = await fetch(url, await build());
    if (await this.#shouldRetry(response)) response = await fetch(url, await build());
    return response;
  }

  /** @param {Response} response */
  async #shouldRetry(response) {
    const offsetBefore = this.#clockOffsetMs;
    const date = Date.parse(response.headers.get("Date") ?? "");
    if (!Number.isNaN(date)) this.#clockOffsetMs = date - Date.now();
    const nonce = response.headers.get("DPoP-Nonce");
    if (nonce) this.#nonce = nonce;
    if (response.ok || !this.#dpopKey || (response.status !== 400 && response.status !== 401)) return false;
    const code = await response
      .clone()
      .json()
      .then((/** @type {any} */ body) => String(body?.code ?? body?.error ?? ""))
      .catch(() => "");
    if (code === "use_dpop_nonce") return nonce !== null;
    return code === "invalid_dpop_proof" && Math.abs(this.#clockOffsetMs - offsetBefore) > 2000;
  }

  /** `Authorization` (and `DPoP`) for a call with the access token. @param {string} method @param {string} path @returns {Promise<Record<string, string>>} */
  async #authorization(method, path) {
    if (this.#tokenType !== "DPoP") return { Authorization: `Bearer ${this.#accessToken}` };
    return { Authorization: `DPoP ${this.#accessToken}`, ...(await this.#proofHeader(method, path, this.#accessToken ?? undefined)) };
  }

  /**
   * `{ DPoP: proof }`, or nothing when this browser has no key.
   * @param {string} method @param {string} path @param {string} [accessToken] @returns {Promise<Record<string, string>>}
   */
  async #proofHeader(method, path, accessToken) {
    const proof = await this.#proof(method, new URL(`${this.baseUrl}${path}`, location.href).href, accessToken);
    return proof ? { DPoP: proof } : {};
  }

  /**
   * A DPoP proof (RFC 9449 §4.2) signed with this browser's key: ES256 over `header.payload`, which
   * is what WebCrypto's ECDSA gives (IEEE P1363 r||s). Null when there is no key.
   * @param {string} method @param {string} url @param {string} [accessToken]
   */
  async #proof(method, url, accessToken) {
    const key = await this.#key();
    if (!key) return null;
    const htu = new URL(url);
    htu.search = "";
    htu.hash = "";
    /** @type {Record<string, unknown>} */
    const claims = { jti: crypto.randomUUID(), htm: method, htu: htu.href, iat: Math.floor((Date.now() + this.#clockOffsetMs) / 1000) };
    if (accessToken) claims.ath = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(accessToken)));
    if (this.#nonce) claims.nonce = this.#nonce;
    const input = `${base64urlJson({ typ: "dpop+jwt", alg: "ES256", jwk: key.jwk })}.${base64urlJson(claims)}`;
    const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key.pair.privateKey, new TextEncoder().encode(input));
    return `${input}.${base64url(signature)}`;
  }

  /** This browser's key, loaded (or created once) on first use. */
  #key() {
    if (!this.dpop) return Promise.resolve(null);
    this.#dpopKey ??= loadOrCreateKey();
    return this.#dpopKey;
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
      // A bound session's refresh needs a proof by this browser's key: a copied cookie alone is refused.
      const response = await this.#proving("/v1/auth/refresh", async () => ({
        method: "POST",
        headers: await this.#proofHeader("POST", "/v1/auth/refresh"),
        credentials: "same-origin",
      }));
      if (response.status === 401) {
        this.#clear("expired", true);
        throw new ApiProblem({ type: "", status: 401, code: "invalid_refresh_token" });
      }
      const result = await readBody(response);
      this.#accept(result.access_token, result.token_type, result.expires_in, true);
    };
    if (navigator.locks) await navigator.locks.request("edge-sessions:refresh", run);
    else await run();
  }

  /** @param {string} token @param {string} tokenType @param {number} expiresInSeconds @param {boolean} share */
  #accept(token, tokenType, expiresInSeconds, share) {
    const wasSignedIn = this.#accessToken !== null;
    this.#accessToken = token;
    this.#tokenType = tokenType === "DPoP" ? "DPoP" : "Bearer";
    this.#expiresAt = Date.now() + expiresInSeconds * 1000;
    this.#sessionId = sessionIdOf(token);
    clearTimeout(this.#refreshTimer);
    const delay = Math.max(1000, this.#expiresAt - Date.now() - this.refreshMarginMs);
    this.#refreshTimer = setTimeout(() => void this.#refresh(false).catch(() => {}), delay);
    if (share) this.#channel?.postMessage({ type: "token", token, tokenType: this.#tokenType, expiresInSeconds });
    // The open socket would close at the old token's expiry: hand it the new one (docs/live.md).
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify({ type: "authenticate", access_token: token }));
    if (!wasSignedIn) this.dispatchEvent(new CustomEvent("signedin"));
  }

  /**
   * @param {"signed_out" | "revoked" | "expired"} reason @param {boolean} share
   * @param {LiveEvent | null} [event] the live event that said so, passed on to the page and the other tabs
   */
  #clear(reason, share, event = null) {
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
    if (share) this.#channel?.postMessage({ type: "signed_out", reason, event });
    this.dispatchEvent(new CustomEvent("signedout", { detail: { reason, event } }));
  }

  /** @param {any} message */
  #onTabMessage(message) {
    // Tabs share one cookie, hence one session: a token or a sign-out in one tab holds for all.
    if (message?.type === "token" && typeof message.token === "string")
      this.#accept(message.token, message.tokenType, message.expiresInSeconds, false);
    if (message?.type === "signed_out" && this.#accessToken !== null) this.#clear(message.reason, false, message.event ?? null);
  }

  async #openSocket() {
    if (!this.#live || !this.#accessToken) return;
    const url = new URL(`${this.baseUrl}/v1/sessions/live`, location.href);
    // The token rides in the subprotocol list, not the URL: URLs are logged, this header is not echoed.
    // A bound session's proof rides beside it (docs/live.md): browsers cannot set headers on a WebSocket.
    const protocols = [LIVE_PROTOCOL, `bearer.${this.#accessToken}`];
    const proof = this.#tokenType === "DPoP" ? await this.#proof("GET", url.href, this.#accessToken) : null;
    if (proof) protocols.push(`dpop.${proof}`);
    if (!this.#live || !this.#accessToken || this.#socket) return;
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url, protocols);
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
      // The server took the token sent by `#accept`: nothing for the page.
      if (live.type === "authenticated") return;
      if (live.type === "session_revoked" && live.session_id === this.#sessionId)
        return this.#clear(live.reason === "signed_out" ? "signed_out" : "revoked", true, live);
      if (live.type === "session_expired" && live.session_id === this.#sessionId) return this.#clear("expired", true, live);
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
      // Anything else, 4003 and 4004 included: refresh (a dead session fails it), then reconnect.
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
          () => void this.#openSocket(),
          () => this.#reconnectLater(),
        ),
      delay,
    );
  }
}

/** @typedef {{ pair: CryptoKeyPair; jwk: { kty: string; crv: string; x: string; y: string } }} DpopKey */

/**
 * The browser's DPoP key: an ECDSA P-256 pair whose private half cannot be exported, kept in
 * IndexedDB (structured clone keeps a CryptoKey as it is). Created once for all tabs, under a Web
 * Lock, so two tabs signing in at once do not bind to different keys. Null where the browser has
 * no IndexedDB or WebCrypto (a private window may refuse storage): the session is then unbound.
 * @returns {Promise<DpopKey | null>}
 */
async function loadOrCreateKey() {
  if (typeof indexedDB === "undefined" || !globalThis.crypto?.subtle) return null;
  const getOrCreate = async () => {
    const db = await new Promise((resolve, reject) => {
      const open = indexedDB.open(KEY_DB, 1);
      open.onupgradeneeded = () => open.result.createObjectStore(KEY_STORE);
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    /** @param {IDBTransactionMode} mode @param {(store: IDBObjectStore) => IDBRequest} act @returns {Promise<any>} */
    const request = (mode, act) =>
      new Promise((resolve, reject) => {
        const req = act(/** @type {IDBDatabase} */ (db).transaction(KEY_STORE, mode).objectStore(KEY_STORE));
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    /** @type {CryptoKeyPair | undefined} */
    let pair = await request("readonly", (store) => store.get(KEY_NAME));
    if (!pair) {
      pair = /** @type {CryptoKeyPair} */ (
        await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"])
      );
      await request("readwrite", (store) => store.put(pair, KEY_NAME));
    }
    const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey);
    return { pair, jwk: { kty: String(kty), crv: String(crv), x: String(x), y: String(y) } };
  };
  try {
    return navigator.locks ? await navigator.locks.request("edge-sessions:dpop-key", getOrCreate) : await getOrCreate();
  } catch {
    return null;
  }
}

/** @param {ArrayBuffer | Uint8Array} bytes */
function base64url(bytes) {
  let binary = "";
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** @param {unknown} value */
function base64urlJson(value) {
  return base64url(new TextEncoder().encode(JSON.stringify(value)));
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
