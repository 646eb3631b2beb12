// @ts-check
// The "Your devices" page (markup: src/web/page.tsx). Everything user-supplied is written with
// textContent, never as HTML: device names are chosen by whoever signed in.
import { ApiProblem, SessionsClient } from "./sessions-client.js";

const client = new SessionsClient();
/** @type {Map<string, any>} */
const sessions = new Map();

/** @template {HTMLElement} T @param {string} id @returns {T} */
const $ = (id) => /** @type {T} */ (document.getElementById(id));
/** @param {HTMLElement} el @param {boolean} visible */
const show = (el, visible) => void (el.hidden = !visible);

/** @type {Record<string, string>} */
const TYPE_LABELS = { desktop: "Computer", mobile: "Phone", tablet: "Tablet", other: "Other device" };
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const regions = new Intl.DisplayNames(undefined, { type: "region" });

// ---- views -------------------------------------------------------------------------------------

/** @param {string} text @param {"info" | "alert"} [tone] */
function notify(text, tone = "info") {
  const notice = $("notice");
  notice.textContent = text;
  notice.className = `notice ${tone}`;
  notice.setAttribute("role", tone === "alert" ? "alert" : "status");
  show(notice, text !== "");
}

/** @param {boolean} signedIn */
function showView(signedIn) {
  show($("loading"), false);
  show($("auth"), !signedIn);
  show($("account"), signedIn);
  for (const id of ["devices", "password-section"]) show($(id), signedIn);
  if (!signedIn) show($("history"), false);
}

/** Row elements by session id: rows are updated in place, so an open rename form or focus survives live updates. */
/** @type {Map<string, HTMLLIElement>} */
const rows = new Map();

function renderDevices() {
  const list = $("device-list");
  const sorted = [...sessions.values()].sort((a, b) => Number(b.current) - Number(a.current) || Date.parse(b.last_active_at) - Date.parse(a.last_active_at));
  for (const [id, row] of rows) {
    if (sessions.has(id)) continue;
    row.remove();
    rows.delete(id);
  }
  sorted.forEach((session, index) => {
    let row = rows.get(session.id);
    if (!row) rows.set(session.id, (row = createRow(session.id)));
    updateRow(row, session);
    // Only move what is out of place: taking a row out of the DOM would drop its focus.
    if (list.children[index] !== row) list.insertBefore(row, list.children[index] ?? null);
  });
  show($("sign-out-others"), sorted.length > 1);
}

/** @param {string} id */
function createRow(id) {
  const template = /** @type {HTMLTemplateElement} */ ($("device-template"));
  const row = /** @type {HTMLLIElement} */ (template.content.firstElementChild?.cloneNode(true));
  row.dataset.sessionId = id;
  row.querySelector(".sign-out-button")?.addEventListener("click", () => void signOutDevice(id, row));
  wireRename(row, id, /** @type {HTMLButtonElement} */ (row.querySelector(".rename-button")));
  return row;
}

/** @param {HTMLLIElement} row @param {any} session */
function updateRow(row, session) {
  const type = ["desktop", "mobile", "tablet"].includes(session.device.type) ? session.device.type : "other";
  row.querySelector("use")?.setAttribute("href", `#icon-${type}`);
  const name = session.device.name ?? "Unknown device";
  text(row, ".device-name", name);
  show(/** @type {HTMLElement} */ (row.querySelector(".this-device")), session.current);
  row.classList.toggle("current", session.current);
  // The type always; the browser and OS too unless the name already says exactly that.
  const platform = [session.device.browser, session.device.os].filter(Boolean).join(" on ");
  text(row, ".platform", [TYPE_LABELS[type], platform === name ? "" : platform].filter(Boolean).join(" · "));
  text(row, ".place", [placeOf(session.location), session.ip].filter(Boolean).join(" · ") || "Unknown location");
  text(row, ".active", activeText(session));
  row.querySelector(".sign-out-button")?.setAttribute("aria-label", session.current ? "Sign out of this device" : `Sign out ${name}`);
  row.querySelector(".rename-button")?.setAttribute("aria-label", `Rename ${name}`);
}

/** @param {HTMLElement} root @param {string} selector @param {string} value */
function text(root, selector, value) {
  const el = root.querySelector(selector);
  if (el) el.textContent = value;
}

/** @param {{ city: string | null; region: string | null; country: string | null }} location */
function placeOf(location) {
  let country = location.country;
  try {
    if (country) country = regions.of(country) ?? country;
  } catch {}
  return [location.city, country].filter(Boolean).join(", ");
}

/** @param {any} session */
function activeText(session) {
  if (session.current) return "Active now";
  return `Last active ${ago(Date.parse(session.last_active_at))}`;
}

/** @param {number} at */
function ago(at) {
  const seconds = Math.round((at - Date.now()) / 1000);
  if (seconds > -45) return "just now";
  /** @type {[Intl.RelativeTimeFormatUnit, number][]} */
  const units = [["minute", 60], ["hour", 3600], ["day", 86400], ["month", 2592000], ["year", 31536000]];
  let chosen = units[0];
  for (const unit of units) if (-seconds >= unit[1]) chosen = unit;
  return relative.format(Math.round(seconds / chosen[1]), chosen[0]);
}

// ---- actions -----------------------------------------------------------------------------------

/** @param {string} id @param {HTMLElement} row */
async function signOutDevice(id, row) {
  const session = sessions.get(id);
  if (!session) return;
  if (session.current) return signOut();
  try {
    await client.api(`/v1/sessions/${encodeURIComponent(session.id)}`, { method: "DELETE" });
    sessions.delete(session.id);
    renderDevices();
    notify(`Signed out ${session.device.name}.`);
    $("devices-title").focus();
  } catch (error) {
    if (error instanceof ApiProblem && error.code === "not_found") {
      sessions.delete(session.id);
      return renderDevices();
    }
    rowError(row, error);
  }
}

/** @param {HTMLElement} row @param {string} id @param {HTMLButtonElement} button */
function wireRename(row, id, button) {
  const form = /** @type {HTMLFormElement} */ (row.querySelector(".rename"));
  const input = /** @type {HTMLInputElement} */ (form.elements.namedItem("name"));
  button.addEventListener("click", () => {
    input.value = sessions.get(id)?.device.name ?? "";
    show(form, true);
    show(button, false);
    input.focus();
  });
  const close = () => {
    show(form, false);
    show(button, true);
    button.focus();
  };
  form.querySelector(".cancel")?.addEventListener("click", close);
  form.addEventListener("keydown", (event) => event.key === "Escape" && close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = input.value.trim();
    try {
      const result = await client.api(`/v1/sessions/${encodeURIComponent(id)}`, { method: "PATCH", json: { name } });
      const session = sessions.get(id);
      const device = { ...session?.device, ...(result?.session?.device ?? { name }) };
      if (session) sessions.set(id, { ...session, device });
      close();
      renderDevices();
    } catch (error) {
      // PATCH /v1/sessions/{id} may not exist on this server yet: say so instead of failing silently.
      const unsupported = error instanceof ApiProblem && (error.status === 405 || (error.status === 404 && error.code !== "not_found"));
      rowError(row, unsupported ? new Error("Renaming devices is not available on this server yet.") : error);
      close();
    }
  });
}

/** @param {HTMLElement} row @param {unknown} error */
function rowError(row, error) {
  const el = /** @type {HTMLElement} */ (row.querySelector(".row-error"));
  el.textContent = error instanceof Error ? error.message : "Something went wrong.";
  show(el, true);
}

async function signOut() {
  await client.signOut();
}

/**
 * Live events heard while a list load is in flight. The server may have answered the load before
 * such an event happened, so each is replayed onto the answer: a stale list never brings back a
 * revoked device nor drops a new one.
 * @type {Set<any[]>}
 */
const heardDuringLoads = new Set();

async function loadDevices() {
  /** @type {any[]} */
  const heard = [];
  heardDuringLoads.add(heard);
  try {
    const result = await client.api("/v1/sessions");
    sessions.clear();
    for (const session of result.sessions) sessions.set(session.id, session);
    for (const live of heard) applyLive(live);
    renderDevices();
  } finally {
    heardDuringLoads.delete(heard);
  }
}

/** @param {any} live */
function applyLive(live) {
  if (live.type === "session_created" && live.session && !sessions.has(live.session.id)) sessions.set(live.session.id, { ...live.session, current: false });
  if ((live.type === "session_revoked" || live.type === "session_expired") && live.session_id) sessions.delete(live.session_id);
}

/** The security history lives on another endpoint that a server may not have: hidden unless it answers. */
async function loadHistory() {
  try {
    const result = await client.api("/v1/security-events");
    const events = Array.isArray(result?.events) ? result.events : [];
    const items = events.slice(0, 20).map((/** @type {any} */ event) => {
      const li = document.createElement("li");
      const what = document.createElement("span");
      what.textContent = String(event.type ?? "event").replace(/_/g, " ");
      const when = document.createElement("time");
      const at = event.created_at ?? event.at;
      if (typeof at === "string") {
        when.dateTime = at;
        when.textContent = ago(Date.parse(at));
      }
      li.append(what, " ", when);
      return li;
    });
    $("history-list").replaceChildren(...items);
    show($("history"), items.length > 0);
  } catch {
    show($("history"), false);
  }
}

async function enter() {
  showView(true);
  const me = await client.api("/v1/me");
  $("whoami").textContent = me.user.email;
  /** @type {HTMLInputElement} */ ($("password-username")).value = me.user.email;
  client.connectLive();
  await Promise.all([loadDevices(), loadHistory()]);
}

// ---- wiring ------------------------------------------------------------------------------------

client.addEventListener("live", (event) => {
  const live = /** @type {CustomEvent} */ (event).detail;
  for (const heard of heardDuringLoads) heard.push(live);
  applyLive(live);
  if (live.type === "suspicious_sign_in") notify("A sign-in to your account looked unusual. Check your devices below.", "alert");
  renderDevices();
  void loadHistory();
});

client.addEventListener("connection", (event) => {
  const state = /** @type {CustomEvent} */ (event).detail.state;
  $("live-state").textContent = state === "open" ? "Live" : state === "closed" ? "Not live: reload to reconnect" : "Reconnecting…";
  // Events sent while the socket was down are not replayed: reload the list on every (re)connect.
  if (state === "open") void loadDevices().catch(() => {});
});

client.addEventListener("signedout", (event) => {
  const reason = /** @type {CustomEvent} */ (event).detail.reason;
  sessions.clear();
  renderDevices();
  showView(false);
  const messages = {
    revoked: "This device was signed out from another device.",
    expired: "Your session has ended. Sign in again.",
    signed_out: "You are signed out.",
  };
  notify(messages[/** @type {keyof typeof messages} */ (reason)] ?? messages.signed_out, reason === "revoked" ? "alert" : "info");
  $("email").focus();
});

$("sign-out").addEventListener("click", () => void signOut());

$("sign-out-others").addEventListener("click", async () => {
  try {
    const result = await client.api("/v1/auth/logout-others", { method: "POST" });
    await loadDevices();
    notify(`Signed out ${result.revoked} other device${result.revoked === 1 ? "" : "s"}.`);
  } catch (error) {
    $("devices-error").textContent = error instanceof Error ? error.message : "Something went wrong.";
    show($("devices-error"), true);
  }
});

const authForm = /** @type {HTMLFormElement} */ ($("auth-form"));
$("auth-toggle").addEventListener("click", () => {
  const signingUp = authForm.dataset.mode !== "signup";
  authForm.dataset.mode = signingUp ? "signup" : "signin";
  $("auth-title").textContent = signingUp ? "Create an account" : "Sign in";
  $("auth-submit").textContent = signingUp ? "Create account" : "Sign in";
  $("auth-toggle").textContent = signingUp ? "I already have an account" : "Create an account instead";
  $("password").setAttribute("autocomplete", signingUp ? "new-password" : "current-password");
});

authForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(authForm);
  const [email, password, deviceName] = ["email", "password", "device_name"].map((field) => String(data.get(field) ?? "").trim());
  const error = $("auth-error");
  show(error, false);
  try {
    if (authForm.dataset.mode === "signup") await client.signUp(email ?? "", password ?? "", deviceName);
    else await client.signIn(email ?? "", password ?? "", deviceName);
    authForm.reset();
    notify("");
    await enter();
  } catch (failure) {
    error.textContent = failure instanceof Error ? failure.message : "Could not sign in.";
    show(error, true);
  }
});

const passwordForm = /** @type {HTMLFormElement} */ ($("password-form"));
passwordForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(passwordForm);
  const result = $("password-result");
  try {
    await client.api("/v1/auth/password", {
      method: "POST",
      json: { current_password: data.get("current_password"), new_password: data.get("new_password"), sign_out_others: data.get("sign_out_others") === "on" },
    });
    passwordForm.reset();
    result.className = "success";
    result.textContent = "Password changed.";
    await loadDevices();
  } catch (error) {
    result.className = "error";
    result.textContent = error instanceof Error ? error.message : "Could not change the password.";
  }
  show(result, true);
});

// "2 minutes ago" stays true without a reload.
setInterval(() => {
  for (const el of document.querySelectorAll(".device .active")) {
    const session = sessions.get(/** @type {HTMLElement} */ (el.closest(".device")).dataset.sessionId ?? "");
    if (session) el.textContent = activeText(session);
  }
}, 30_000);

if (await client.resume()) await enter().catch(() => showView(client.signedIn));
else showView(false);
