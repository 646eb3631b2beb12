// @ts-check
// The "Your devices" page (markup: src/web/page.tsx). Everything user-supplied is written with
// textContent, never as HTML: device names are chosen by whoever signed in.
import { setUpPasskeys } from "./passkeys-page.js";
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
  for (const id of ["devices", "passkeys", "password-section"]) show($(id), signedIn);
  // The previous account's history must not linger in the page.
  if (!signedIn) clearHistory();
  if (!signedIn) passkeys.signedOut();
}

/** Row elements by session id: rows are updated in place, so an open rename form or focus survives live updates. */
/** @type {Map<string, HTMLLIElement>} */
const rows = new Map();

function renderDevices() {
  const list = $("device-list");
  const sorted = [...sessions.values()].sort(
    (a, b) => Number(b.current) - Number(a.current) || Date.parse(b.last_active_at) - Date.parse(a.last_active_at),
  );
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
  // History entries name devices by their session ("From Work laptop"): keep them in step with renames and loads.
  renderHistory();
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
  // DPoP: its tokens are worthless without a key that never leaves that device.
  show(/** @type {HTMLElement} */ (row.querySelector(".binding")), session.binding === "dpop");
  text(row, ".method", session.sign_in_method === "passkey" ? "Signed in with a passkey" : "Signed in with a password");
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
  const units = [
    ["minute", 60],
    ["hour", 3600],
    ["day", 86400],
    ["month", 2592000],
    ["year", 31536000],
  ];
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
    void loadHistory();
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
      rowError(row, error);
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
  if (live.type === "session_created" && live.session && !sessions.has(live.session.id))
    sessions.set(live.session.id, { ...live.session, current: false });
  if ((live.type === "session_revoked" || live.type === "session_expired") && live.session_id) sessions.delete(live.session_id);
}

// ---- security history --------------------------------------------------------------------------

/**
 * @typedef {import("../../client/wire").SecurityEvent} SecurityEvent
 * @typedef {{ text: string; tone: "warn" | "alert" }} Flag
 * @typedef {{ icon: string; sentence: string; flag?: Flag; facts: string[] }} EventView
 */

const HISTORY_PAGE = 20;
/** @type {Flag} */
const UNUSUAL = { text: "Unusual", tone: "warn" };
/** @type {Flag} */
const SUSPICIOUS = { text: "Suspicious", tone: "alert" };
/** @type {Intl.DateTimeFormatOptions} */
const EXACT = { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" };
const exactThisYear = new Intl.DateTimeFormat(undefined, EXACT);
const exactOtherYear = new Intl.DateTimeFormat(undefined, { ...EXACT, year: "numeric" });
/** "Nov 22, 8:16 AM"; the year only when it is not this one. @param {number} at */
const exactTime = (at) => (new Date(at).getFullYear() === new Date().getFullYear() ? exactThisYear : exactOtherYear).format(at);
const fullTime = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "long" });
/** "1,234 km", "12 minutes" @param {string} unit @param {number} value @param {"short" | "long"} [unitDisplay] @param {number} [fractionDigits] */
const measure = (unit, value, unitDisplay = "short", fractionDigits = 0) =>
  new Intl.NumberFormat(undefined, { style: "unit", unit, unitDisplay, maximumFractionDigits: fractionDigits }).format(value);

const history = {
  /** @type {SecurityEvent[]} */ events: [],
  /** @type {string | null} */ cursor: null,
  /** Bumped by every load and by sign-out: an answer for an older generation is dropped. */
  generation: 0,
  loadingMore: false,
  /** Entries by event id, reused across renders: an entry that has focus keeps it. @type {Map<string, HTMLLIElement>} */
  items: new Map(),
};

/** @param {unknown} value */
const str = (value) => (typeof value === "string" ? value : "");

/** "Work laptop · Chrome on Mac OS"; the browser and OS only when the name does not already say exactly that. @param {import("../../client/wire").DeviceJson} device */
function deviceText(device) {
  const name = device.name;
  const platform = [device.browser, device.os].filter(Boolean).join(" on ");
  return [name, platform === name ? "" : platform].filter(Boolean).join(" · ");
}

/** "Austin, United States · 203.0.113.7" @param {import("../../client/wire").PlaceJson} place */
function placeText(place) {
  return [placeOf({ city: place.city, region: null, country: place.country }), place.ip ?? ""].filter(Boolean).join(" · ");
}

/** A session as the page knows it: the live list (current names) first, then the history's own sign-ins. @param {unknown} id */
function sessionLabel(id) {
  if (typeof id !== "string" || id === "") return "";
  const signIn = history.events.find((event) => event.type === "signed_in" && event.session_id === id);
  const name = str(sessions.get(id)?.device?.name) || (signIn?.type === "signed_in" ? signIn.details.device.name : "");
  if (id === client.sessionId) return name ? `${name} (this device)` : "this device";
  return name;
}

/** The device line of an event about a session, marked when that session is this browser's. @param {SecurityEvent} event @param {import("../../client/wire").DeviceJson} device */
function deviceFact(event, device) {
  const text = deviceText(device);
  return text && event.session_id !== null && event.session_id === client.sessionId ? `${text} (this device)` : text;
}

/** "45 seconds", "12 minutes", "1.5 hours", "3 days" @param {number} seconds */
function duration(seconds) {
  if (seconds < 90) return measure("second", seconds, "long");
  if (seconds < 3600) return measure("minute", seconds / 60, "long");
  if (seconds < 48 * 3600) return measure("hour", Math.round(seconds / 360) / 10, "long", 1);
  return measure("day", seconds / 86400, "long");
}

/** @param {import("../../client/wire").PositionJson} position */
const positionText = (position) => placeOf({ city: position.city, region: null, country: position.country }) || "an unknown place";

/** What the user reads for one event: a sentence by type, the evidence from its details, a flag if it needs a look. @param {SecurityEvent} event @returns {EventView} */
function describeEvent(event) {
  switch (event.type) {
    case "signed_in":
      return {
        icon: "sign-in",
        sentence: event.details.method === "passkey" ? "Signed in with a passkey" : "Signed in",
        facts: [
          deviceFact(event, event.details.device),
          placeText(event.details.place),
          event.details.passkey ? `Passkey: ${event.details.passkey.name}` : "",
        ],
      };
    case "passkey_added":
    case "passkey_removed":
    case "passkey_counter_regressed":
      return describePasskeyEvent(event);
    case "new_device":
      return {
        icon: "alert",
        sentence: "Signed in from a new device",
        flag: UNUSUAL,
        facts: [deviceFact(event, event.details.device), placeText(event.details.place)],
      };
    case "sign_in_refused": {
      const max = event.details.max_sessions;
      const limit = `The password was correct, but the limit of ${max} signed-in device${max === 1 ? "" : "s"} was reached.`;
      return {
        icon: "blocked",
        sentence: "Session limit reached: a sign-in was refused",
        facts: [deviceFact(event, event.details.device), placeText(event.details.place), limit],
      };
    }
    case "impossible_travel": {
      const { distance_km, elapsed_seconds, speed_kmh, limit_kmh, from, to } = event.details;
      const how = `${measure("kilometer", distance_km)} in ${duration(elapsed_seconds)}, ${measure("kilometer-per-hour", speed_kmh)} (the limit is ${measure("kilometer-per-hour", limit_kmh)})`;
      return {
        icon: "alert",
        sentence: "Impossible travel: used from places too far apart",
        flag: SUSPICIOUS,
        facts: [sessionOn(event), `From ${positionText(from)} to ${positionText(to)}`, how],
      };
    }
    case "session_network_changed": {
      const { changed, from, to, place } = event.details;
      const country = changed.includes("country");
      const network = changed.includes("asn");
      const what = country && network ? "another country and network" : country ? "another country" : "another network";
      const countryName = (/** @type {string | null} */ code) =>
        placeOf({ city: null, region: null, country: code }) || "an unknown country";
      const asn = (/** @type {number | null} */ value) => (value === null ? "an unknown network" : `network AS${value}`);
      return {
        icon: "alert",
        sentence: `A signed-in device was used from ${what}`,
        flag: UNUSUAL,
        facts: [
          sessionOn(event),
          country ? `From ${countryName(from.country)} to ${countryName(to.country)}` : "",
          network ? `From ${asn(from.asn)} to ${asn(to.asn)}` : "",
          placeText(place),
        ],
      };
    }
    case "refresh_token_reuse": {
      const place = placeText(event.details.place);
      return {
        icon: "alert",
        sentence: "Someone reused an old sign-in token — that session was ended",
        flag: SUSPICIOUS,
        facts: [deviceFact(event, event.details.device), place ? `Token sent from ${place}` : ""],
      };
    }
    case "dpop_proof_rejected": {
      const place = placeText(event.details.place);
      const why = {
        missing: "It came without the proof of the device's key",
        invalid: "Its proof of the device's key was not valid",
        wrong_key: "It was signed with another key than the device's",
        replayed: "It came with a proof that had been used before",
      }[event.details.reason];
      return {
        icon: "alert",
        sentence: "A sign-in token was used without its device's key — refused",
        flag: SUSPICIOUS,
        facts: [deviceFact(event, event.details.device), why ?? "", place ? `Token sent from ${place}` : ""],
      };
    }
    case "session_revoked":
      return describeRevocation(event.details, deviceFact(event, event.details.device));
    case "password_changed": {
      const count = event.details.other_sessions_signed_out;
      const others =
        count === null
          ? "Other devices stayed signed in"
          : count === 0
            ? "No other device was signed in"
            : `${count} other device${count === 1 ? " was" : "s were"} signed out`;
      return { icon: "key", sentence: "Password changed", facts: [sessionOn(event), others, placeText(event.details.place)] };
    }
    default: {
      // A type newer than this page: its name, readable (clients ignore what they do not know).
      const type = /** @type {{ type: string }} */ (/** @type {unknown} */ (event)).type;
      const words = str(type).replace(/_/g, " ").trim();
      return { icon: "event", sentence: words ? words[0]?.toUpperCase() + words.slice(1) : "Security event", facts: [] };
    }
  }
}

/**
 * Passkey changes, and the one warning a passkey can raise: a correctly signed sign-in whose
 * counter went back, which means two copies of the key exist.
 * @param {Extract<SecurityEvent, { type: "passkey_added" | "passkey_removed" | "passkey_counter_regressed" }>} event
 * @returns {EventView}
 */
function describePasskeyEvent(event) {
  const name = `Passkey: ${event.details.passkey.name}`;
  if (event.type === "passkey_counter_regressed")
    return {
      icon: "alert",
      sentence: "A sign-in with a passkey was refused: the passkey may have been copied",
      flag: SUSPICIOUS,
      facts: [name, placeText(event.details.place), "Remove this passkey if you did not copy it yourself."],
    };
  const added = event.type === "passkey_added";
  return {
    icon: "passkey",
    sentence: added ? "Passkey added" : "Passkey removed",
    facts: [name, deviceFact(event, event.details.device), placeText(event.details.place)],
  };
}

/** "On Work laptop": the device an event's session is on, when the page knows it. @param {SecurityEvent} event */
function sessionOn(event) {
  const label = sessionLabel(event.session_id);
  return label ? `On ${label}` : "";
}

/** @param {import("../../client/wire").SecurityEventDetails["session_revoked"]} details @param {string} device @returns {EventView} */
function describeRevocation(details, device) {
  const by = sessionLabel(details.by_session_id);
  /** @param {string} sentence @param {string} [extra] @returns {EventView} */
  const view = (sentence, extra = "") => ({ icon: "sign-out", sentence, facts: [device, extra] });
  switch (details.revoked_by) {
    case "user":
      return view(details.reason === "signed_out_everywhere" ? "Signed out everywhere" : "Signed out");
    case "other_device":
      return view("Signed out by another device", by ? `From ${by}` : "");
    case "password_change":
      return view("Signed out because the password was changed", by ? `Changed on ${by}` : "");
    case "policy":
      return view("Session limit reached: signed out to make room for a new sign-in", by ? `The new sign-in: ${by}` : "");
    case "reuse_detection":
      return view("Signed out because an old sign-in token was reused");
    case "admin":
      return view("Signed out by an administrator");
    case "service":
      return view("Signed out by a connected service");
    default:
      return view("Signed out");
  }
}

/** @param {SecurityEvent} event @param {HTMLLIElement} [item] */
function renderEvent(event, item) {
  if (!item) {
    const template = /** @type {HTMLTemplateElement} */ ($("event-template"));
    item = /** @type {HTMLLIElement} */ (template.content.firstElementChild?.cloneNode(true));
    item.dataset.eventId = event.id;
  }
  const view = describeEvent(event);
  item.dataset.type = str(event.type);
  item.querySelector("use")?.setAttribute("href", `#icon-${view.icon}`);
  item.classList.remove("flag-warn", "flag-alert");
  if (view.flag) item.classList.add(`flag-${view.flag.tone}`);
  show(/** @type {HTMLElement} */ (item.querySelector(".flag")), view.flag !== undefined);
  text(item, ".flag-text", view.flag?.text ?? "");
  text(item, ".sentence", view.sentence);
  const facts = view.facts.filter(Boolean).map((fact) => {
    const p = document.createElement("p");
    p.className = "meta";
    p.textContent = fact;
    return p;
  });
  item.querySelector(".facts")?.replaceChildren(...facts);
  const at = Date.parse(event.created_at);
  const time = /** @type {HTMLTimeElement} */ (item.querySelector("time"));
  if (Number.isFinite(at)) {
    time.dateTime = new Date(at).toISOString();
    time.title = fullTime.format(at);
    time.textContent = ago(at);
    text(item, ".exact", exactTime(at));
  }
  return item;
}

function renderHistory() {
  const list = $("history-list");
  const ids = new Set(history.events.map((event) => event.id));
  for (const [id, item] of history.items) {
    if (ids.has(id)) continue;
    item.remove();
    history.items.delete(id);
  }
  history.events.forEach((event, index) => {
    const item = renderEvent(event, history.items.get(event.id));
    history.items.set(event.id, item);
    if (list.children[index] !== item) list.insertBefore(item, list.children[index] ?? null);
  });
  show($("history"), history.events.length > 0);
  show($("history-more"), history.cursor !== null);
}

/** @param {any} result @returns {SecurityEvent[]} */
const eventsOf = (result) =>
  Array.isArray(result?.events) ? result.events.filter((/** @type {any} */ event) => event && typeof event.id === "string") : [];

/**
 * The security history lives on another endpoint that a server may not have: hidden unless it
 * answers. Reloads keep as many entries as "Show more" had brought in (up to the API's 100). The
 * server answers it only once its history holds everything the live channel has announced, so a
 * reload on a live message shows that message's entry.
 */
async function loadHistory() {
  const generation = ++history.generation;
  const limit = Math.min(100, Math.max(HISTORY_PAGE, history.events.length));
  try {
    const result = await client.api(`/v1/security-events?limit=${limit}`);
    if (generation !== history.generation) return;
    history.events = eventsOf(result);
    history.cursor = typeof result.next_cursor === "string" ? result.next_cursor : null;
    show($("history-error"), false);
    renderHistory();
  } catch (error) {
    // Keep what is shown, and say why it may be out of date.
    if (generation !== history.generation) return;
    $("history-error").textContent = error instanceof Error ? error.message : "Could not load the security history.";
    show($("history-error"), true);
  }
}

async function showMoreHistory() {
  const cursor = history.cursor;
  if (!cursor || history.loadingMore) return;
  const generation = history.generation;
  const button = $("history-more");
  history.loadingMore = true;
  button.setAttribute("aria-busy", "true");
  try {
    const result = await client.api(`/v1/security-events?limit=${HISTORY_PAGE}&cursor=${encodeURIComponent(cursor)}`);
    // A reload replaced the list meanwhile: it already holds as many entries; another click continues from there.
    if (generation !== history.generation) return;
    const known = new Set(history.events.map((event) => event.id));
    const added = eventsOf(result).filter((event) => !known.has(event.id));
    history.events.push(...added);
    history.cursor = typeof result?.next_cursor === "string" ? result.next_cursor : null;
    show($("history-error"), false);
    renderHistory();
    // The button is gone at the end of the history: focus moves to the first entry it brought in.
    if (history.cursor === null && added[0]) history.items.get(added[0].id)?.focus();
  } catch (error) {
    $("history-error").textContent = error instanceof Error ? error.message : "Could not load more of the history.";
    show($("history-error"), true);
  } finally {
    history.loadingMore = false;
    button.removeAttribute("aria-busy");
  }
}

function clearHistory() {
  history.generation++;
  history.events = [];
  history.cursor = null;
  renderHistory();
}

async function enter() {
  showView(true);
  const me = await client.api("/v1/me");
  $("whoami").textContent = me.user.email;
  /** @type {HTMLInputElement} */ ($("password-username")).value = me.user.email;
  passkeys.signedIn(me.user.email);
  client.connectLive();
  await Promise.all([loadDevices(), loadHistory(), passkeys.load()]);
}

// ---- wiring ------------------------------------------------------------------------------------

const passkeys = setUpPasskeys({ client, notify, onSignedIn: enter, onChanged: () => void loadHistory(), ago });

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
$("history-more").addEventListener("click", () => void showMoreHistory());

$("sign-out-others").addEventListener("click", async () => {
  try {
    const result = await client.api("/v1/auth/logout-others", { method: "POST" });
    await loadDevices();
    void loadHistory();
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
  // Never the password: a space at either end is part of it (the API compares it exactly, after NFKC).
  const [email, deviceName] = ["email", "device_name"].map((field) => String(data.get(field) ?? "").trim());
  const password = String(data.get("password") ?? "");
  const error = $("auth-error");
  show(error, false);
  passkeys.stopConditional();
  try {
    if (authForm.dataset.mode === "signup") await client.signUp(email ?? "", password, deviceName);
    else await client.signIn(email ?? "", password, deviceName);
    authForm.reset();
    notify("");
    await enter();
  } catch (failure) {
    error.textContent = failure instanceof Error ? failure.message : "Could not sign in.";
    show(error, true);
    passkeys.offerAutofill();
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
      json: {
        current_password: data.get("current_password"),
        new_password: data.get("new_password"),
        sign_out_others: data.get("sign_out_others") === "on",
      },
    });
    passwordForm.reset();
    result.className = "success";
    result.textContent = "Password changed.";
    void loadHistory();
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
  for (const time of /** @type {NodeListOf<HTMLTimeElement>} */ (document.querySelectorAll("#history-list time[datetime]")))
    time.textContent = ago(Date.parse(time.dateTime));
}, 30_000);

if (await client.resume()) await enter().catch(() => showView(client.signedIn));
else showView(false);
