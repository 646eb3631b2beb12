// @ts-check
// The "Your devices" page (markup: src/web/page.tsx). Everything user-supplied is written with
// textContent, never as HTML: device names are chosen by whoever signed in.
import { clearErrors, fieldError, fieldOf, formMessage } from "./form-errors.js";
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
/**
 * What a session is bound to (Session.binding). The service cannot see whether a DBSC key is in
 * hardware: Chromium keeps it in the TPM where there is one (docs/dbsc.md, "What it does not protect").
 * @type {Record<string, string>}
 */
const BINDINGS = { dpop: "Bound to a key on this device", dbsc: "Bound to this device's hardware key" };
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const regions = new Intl.DisplayNames(undefined, { type: "region" });

// ---- views -------------------------------------------------------------------------------------

/**
 * One notice at a time: a new one replaces the old, never stacks on it.
 * @param {string} text @param {"info" | "alert"} [tone] @param {string} [detail] a second, smaller line
 */
function notify(text, tone = "info", detail = "") {
  const notice = $("notice");
  const head = document.createElement("strong");
  head.textContent = text;
  const more = document.createElement("span");
  more.className = "notice-detail";
  more.textContent = detail;
  notice.replaceChildren(...(detail ? [head, " ", more] : [head]));
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
  if (!signedIn) notices.clear();
  if (!signedIn) renderNotices();
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
  // Notices name devices by their current name too.
  renderNotices();
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
  // DPoP: its tokens are worthless without a key that never leaves that device. DBSC: its browser
  // keeps the refresh cookie alive with a key of the device's (docs/dbsc.md), so a copied cookie dies within minutes.
  const binding = BINDINGS[session.binding];
  show(/** @type {HTMLElement} */ (row.querySelector(".binding")), binding !== undefined);
  if (binding !== undefined) text(row, ".binding", binding);
  text(row, ".method", session.sign_in_method === "passkey" ? "Signed in with a passkey" : "Signed in with a password");
  // Usually for milliseconds; one that stays so lost its sign-in's answer in a crash, and the service ends it.
  show(/** @type {HTMLElement} */ (row.querySelector(".unconfirmed")), session.confirmed === false);
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
    clearErrors(form, /** @type {HTMLElement} */ (row.querySelector(".row-error")));
    show(form, false);
    show(button, true);
    button.focus();
  };
  form.querySelector(".cancel")?.addEventListener("click", close);
  form.addEventListener("keydown", (event) => event.key === "Escape" && close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = input.value.trim();
    clearErrors(form, /** @type {HTMLElement} */ (row.querySelector(".row-error")));
    // The form stays open on an error, with the sentence under the field.
    if (!name) return fieldError(input, "Enter a name for this device: it cannot be empty or only spaces.");
    try {
      const result = await client.api(`/v1/sessions/${encodeURIComponent(id)}`, { method: "PATCH", json: { name } });
      const session = sessions.get(id);
      const device = { ...session?.device, ...(result?.device ?? result?.session?.device ?? { name }) };
      if (session) sessions.set(id, { ...session, device });
      close();
      renderDevices();
    } catch (error) {
      const field = fieldOf(error, { name: { input, label: "The name" } });
      if (field) fieldError(field.input, field.message);
      else rowError(row, error);
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
  // Sent once the new sign-in has reached its device: a row listed meanwhile as still signing in is confirmed.
  if (live.type === "session_created" && live.session)
    sessions.set(live.session.id, { ...live.session, current: live.session.id === client.sessionId });
  if ((live.type === "session_revoked" || live.type === "session_expired") && live.session_id) sessions.delete(live.session_id);
  // A rename on another device: the row shows the new name at once (an ended session is not brought back).
  if (live.type === "session_updated" && live.session && sessions.has(live.session.id))
    sessions.set(live.session.id, { ...live.session, current: live.session.id === client.sessionId });
}

// ---- "was this you?" ---------------------------------------------------------------------------

/** Open notices by flagged session id (docs/devices.md); every device shows the same ones. @type {Map<string, any>} */
const notices = new Map();
/** @type {Map<string, HTMLLIElement>} */
const noticeCards = new Map();

/** @type {Record<string, string>} */
const FINDING_WORDS = {
  new_device: "a kind of device not used on this account before",
  impossible_travel: "a place too far from the last one to have travelled there",
  session_network_changed: "another country or network than before",
};

/** "New sign-in: iPhone, Lagos, 2 minutes ago"; the device by its current name. @param {any} notice */
function noticeHeadline(notice) {
  const name = str(sessions.get(notice.session_id)?.device?.name) || str(notice.device?.name) || "Unknown device";
  const place = placeOf(notice.location ?? { city: null, region: null, country: null });
  const own = notice.session_id === client.sessionId ? " (this device)" : "";
  return `New sign-in: ${[`${name}${own}`, place, ago(Date.parse(notice.created_at))].filter(Boolean).join(", ")}`;
}

function renderNotices() {
  const list = $("notice-list");
  for (const [id, card] of noticeCards) {
    if (notices.has(id)) continue;
    card.remove();
    noticeCards.delete(id);
  }
  for (const notice of notices.values()) {
    let card = noticeCards.get(notice.session_id);
    if (!card) {
      const template = /** @type {HTMLTemplateElement} */ ($("notice-template"));
      card = /** @type {HTMLLIElement} */ (template.content.firstElementChild?.cloneNode(true));
      const li = card;
      card.querySelector(".notice-confirm")?.addEventListener("click", () => void answerNotice(notice.session_id, "confirm", li));
      card.querySelector(".notice-report")?.addEventListener("click", () => void answerNotice(notice.session_id, "report", li));
      noticeCards.set(notice.session_id, card);
      list.append(card);
    }
    card.dataset.noticeId = notice.id;
    card.dataset.sessionId = notice.session_id;
    const headline = noticeHeadline(notice);
    text(card, ".notice-what", headline);
    const findings = (Array.isArray(notice.findings) ? notice.findings : [])
      .map((/** @type {string} */ f) => FINDING_WORDS[f])
      .filter(Boolean);
    text(card, ".notice-why", findings.length ? `It came from ${findings.join(", and from ")}.` : "It looked unusual.");
    card.querySelector(".notice-confirm")?.setAttribute("aria-label", `Yes, it was me: ${headline}`);
    card.querySelector(".notice-report")?.setAttribute("aria-label", `No, sign it out: ${headline}`);
  }
  show($("notices"), notices.size > 0);
}

/** As for the device list: notices heard while a load is in flight are replayed onto its answer. */
async function loadNotices() {
  /** @type {any[]} */
  const heard = [];
  heardDuringLoads.add(heard);
  try {
    const result = await client.api("/v1/notices");
    notices.clear();
    for (const notice of Array.isArray(result?.notices) ? result.notices : []) notices.set(notice.session_id, notice);
    for (const live of heard) applyNoticeLive(live);
    renderNotices();
  } finally {
    heardDuringLoads.delete(heard);
  }
}

/** @param {any} live */
function applyNoticeLive(live) {
  if (live.type === "risk_notice" && live.notice?.session_id) notices.set(live.notice.session_id, live.notice);
  if (live.type === "risk_notice_answered" && live.session_id) notices.delete(live.session_id);
}

/** @param {string} sessionId @param {"confirm" | "report"} action @param {HTMLLIElement} card */
async function answerNotice(sessionId, action, card) {
  const notice = notices.get(sessionId);
  if (!notice) return;
  const name = str(sessions.get(sessionId)?.device?.name) || str(notice.device?.name) || "that device";
  try {
    const result = await client.api(`/v1/notices/${encodeURIComponent(notice.id)}/${action}`, { method: "POST" });
    notices.delete(sessionId);
    renderNotices();
    if (action === "confirm") notify("Thanks. The notice is gone from all your devices.");
    else {
      if (result?.signed_out) sessions.delete(sessionId);
      renderDevices();
      notify(
        result?.signed_out ? `Signed out ${name}.` : `${name} was already signed out.`,
        "alert",
        "Change your password now: whoever signed in may know it.",
      );
      show($("password-section"), true);
      $("current-password").focus();
    }
  } catch (error) {
    if (error instanceof ApiProblem && (error.code === "notice_answered" || error.code === "not_found")) {
      notices.delete(sessionId);
      renderNotices();
      return notify("That notice was answered already, on another device.");
    }
    rowError(card, error);
  }
}

// ---- security history --------------------------------------------------------------------------

/**
 * @typedef {import("../../client/wire").SecurityEvent} SecurityEvent
 * @typedef {{ text: string; tone: "warn" | "alert" }} Flag
 * @typedef {string | { text: string; note: string }} Fact a line of evidence; `note` in smaller type after it
 * @typedef {{ icon: string; sentence: string; flag?: Flag; facts: Fact[] }} EventView
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
  const id = event.session_id;
  // One name per device throughout the story: the one it goes by now, the one it had then after it.
  const now = id ? str(sessions.get(id)?.device?.name) : "";
  const name = now || str(device?.name);
  const twin = id && sharesName(name, id) ? ` · #${id.slice(4, 8)}` : "";
  const base = deviceText({ ...device, name });
  if (!base) return "";
  const text = `${base}${twin}${id !== null && id === client.sessionId ? " (this device)" : ""}`;
  return now && device?.name && now !== device.name ? { text, note: `named “${device.name}” then` } : text;
}

/** Whether another session the page knows goes by the same name: then each is told apart by a short id. @param {string} name @param {string} id */
function sharesName(name, id) {
  const ids = new Set();
  for (const session of sessions.values()) if (session.device?.name === name) ids.add(session.id);
  for (const event of history.events)
    if (
      event.type === "signed_in" &&
      event.session_id &&
      (str(sessions.get(event.session_id)?.device?.name) || event.details.device.name) === name
    )
      ids.add(event.session_id);
  ids.delete(id);
  return ids.size > 0;
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
    case "risk_acknowledged":
    case "takeover_reported": {
      const answeredOn =
        event.details.via === "link"
          ? "Answered from the link in an email"
          : sessionOn({ ...event, session_id: event.details.answered_by_session_id });
      const device = deviceFact(event, event.details.device);
      if (event.type === "risk_acknowledged")
        return {
          icon: "sign-in",
          sentence: "You confirmed an unusual sign-in was you",
          facts: [device, answeredOn.replace(/^On /, "Answered on ")],
        };
      return {
        icon: "alert",
        sentence: event.details.session_signed_out
          ? "A sign-in was reported as not you, and signed out"
          : "A sign-in was reported as not you",
        flag: SUSPICIOUS,
        facts: [device, answeredOn.replace(/^On /, "Reported on "), "Change your password if you have not yet."],
      };
    }
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
      const any = /** @type {any} */ (event);
      // Failed sign-ins and password checks (the hardening work): told in words, with what they carry.
      if (any.type === "sign_in_failed" || any.type === "password_check_failed") {
        const details = any.details ?? {};
        return {
          icon: "blocked",
          sentence: any.type === "sign_in_failed" ? "A sign-in failed: the password was not correct" : "A password check failed",
          facts: [details.device?.name ? deviceText(details.device) : "", details.place ? placeText(details.place) : ""],
        };
      }
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

/** @param {import("../../client/wire").SecurityEventDetails["session_revoked"]} details @param {Fact} device @returns {EventView} */
function describeRevocation(details, device) {
  const by = sessionLabel(details.by_session_id);
  /** @param {string} sentence @param {string} [extra] @returns {EventView} */
  const view = (sentence, extra = "") => ({ icon: "sign-out", sentence, facts: [device, extra] });
  switch (details.revoked_by) {
    case "user":
      if (details.reason === "takeover_reported") return view("Signed out: reported as not you", by ? `Reported on ${by}` : "");
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

/** @param {SecurityEvent} event @param {HTMLLIElement} [item] @param {SecurityEvent[]} [repeats] older events folded into this one */
function renderEvent(event, item, repeats = []) {
  if (!item) {
    const template = /** @type {HTMLTemplateElement} */ ($("event-template"));
    item = /** @type {HTMLLIElement} */ (template.content.firstElementChild?.cloneNode(true));
    item.dataset.eventId = event.id;
  }
  const view = describeEvent(event);
  if (repeats.length > 0) {
    const oldest = Date.parse(repeats.at(-1)?.created_at ?? "");
    view.sentence = `${view.sentence} (${repeats.length + 1} times)`;
    if (Number.isFinite(oldest)) view.facts.push(`The first of them ${ago(oldest)}, ${exactTime(oldest)}`);
  }
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
    if (typeof fact === "string") p.textContent = fact;
    else {
      const note = document.createElement("small");
      note.textContent = fact.note;
      p.append(fact.text, " ", note);
    }
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

/** Repeated failures read as one entry ("… 4 times"), not a wall of them. */
const GROUPED = new Set(["sign_in_failed", "password_check_failed"]);

/** The history as shown: each run of consecutive repeated failures folded into its newest event. */
function storyOf(/** @type {SecurityEvent[]} */ events) {
  /** @type {{ event: SecurityEvent; repeats: SecurityEvent[] }[]} */
  const story = [];
  for (const event of events) {
    const last = story.at(-1);
    if (last && GROUPED.has(str(event.type)) && last.event.type === event.type) last.repeats.push(event);
    else story.push({ event, repeats: [] });
  }
  return story;
}

function renderHistory() {
  const list = $("history-list");
  const story = storyOf(history.events);
  const ids = new Set(story.map(({ event }) => event.id));
  for (const [id, item] of history.items) {
    if (ids.has(id)) continue;
    item.remove();
    history.items.delete(id);
  }
  story.forEach(({ event, repeats }, index) => {
    const item = renderEvent(event, history.items.get(event.id), repeats);
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
  await Promise.all([loadDevices(), loadHistory(), passkeys.load(), loadNotices().catch(() => {})]);
}

// ---- wiring ------------------------------------------------------------------------------------

const passkeys = setUpPasskeys({ client, notify, onSignedIn: enter, onChanged: () => void loadHistory(), ago });

client.addEventListener("live", (event) => {
  const live = /** @type {CustomEvent} */ (event).detail;
  for (const heard of heardDuringLoads) heard.push(live);
  applyLive(live);
  if (live.type === "passkeys_changed") void passkeys.load();
  // A finding asks "was this you?" (risk_notice), instead of a banner with nothing to do.
  applyNoticeLive(live);
  if (live.type === "risk_notice" || live.type === "risk_notice_answered") renderNotices();
  renderDevices();
  void loadHistory();
});

client.addEventListener("connection", (event) => {
  const state = /** @type {CustomEvent} */ (event).detail.state;
  $("live-state").textContent = state === "open" ? "Live" : state === "closed" ? "Not live: reload to reconnect" : "Reconnecting…";
  // Events sent while the socket was down are not replayed: reload the list on every (re)connect.
  if (state === "open") void loadDevices().catch(() => {});
  if (state === "open") void loadNotices().catch(() => {});
});

client.addEventListener("signedout", (event) => {
  const detail = /** @type {CustomEvent} */ (event).detail;
  sessions.clear();
  renderDevices();
  showView(false);
  const told = signedOutNotice(detail.reason, detail.event);
  notify(told.text, told.tone, told.detail);
  $("email").focus();
});

/** "at 11:42 PM" today, "on Nov 22 at 8:16 AM" before. @param {unknown} at */
function atTime(at) {
  const ms = Date.parse(str(at));
  if (!Number.isFinite(ms)) return "";
  const sameDay = new Date(ms).toDateString() === new Date().toDateString();
  return sameDay ? `at ${clock.format(ms)}` : `on ${exactTime(ms)}`;
}
const clock = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });

/**
 * Why this device was signed out, in words, from the live event that said so (docs/live.md):
 * which device did it and when, or the password change, the administrator, the time limit.
 * @param {"signed_out" | "revoked" | "expired"} reason @param {any} live
 * @returns {{ text: string; detail: string; tone: "info" | "alert" }}
 */
function signedOutNotice(reason, live) {
  const when = atTime(live?.at);
  const by = str(live?.by?.name);
  const alert = (/** @type {string} */ text, /** @type {string} */ detail = "") => ({ text, detail, tone: /** @type {const} */ ("alert") });
  const info = (/** @type {string} */ text, /** @type {string} */ detail = "") => ({ text, detail, tone: /** @type {const} */ ("info") });
  if (live?.type === "session_expired")
    return live.cause === "idle"
      ? info("You were signed out because this device was not used for a while.", "Sign in again to continue.")
      : info("Your sign-in on this device reached its time limit.", "Sign in again to continue.");
  if (live?.type !== "session_revoked") {
    if (reason === "revoked") return alert("This device was signed out from another device.");
    if (reason === "expired") return info("Your session has ended. Sign in again.");
    return info("You are signed out.");
  }
  const from = by ? `“${by}” did it ${when}.` : when ? `It happened ${when}.` : "";
  switch (live.reason) {
    case "revoked_by_other_device":
      return alert("This device was signed out from another device.", from);
    case "password_changed":
      return alert(
        "This device was signed out because the password was changed.",
        `${by ? `It was changed on “${by}” ${when}.` : when ? `It was changed ${when}.` : ""} Sign in with the new password.`.trim(),
      );
    case "signed_out_everywhere":
      return alert("This device was signed out because someone chose to sign out all devices.", from);
    case "admin":
      return alert("An administrator signed this device out.", when ? `It happened ${when}.` : "");
    case "service":
      return alert("A connected service signed this device out.", when ? `It happened ${when}.` : "");
    case "refresh_token_reuse":
      return alert(
        "This device was signed out because its sign-in was used twice, which can mean it was copied.",
        "Sign in again. If this keeps happening, change your password.",
      );
    case "session_limit":
      return info("This device was signed out to make room for a sign-in on another device.", "Too many devices were signed in at once.");
    case "takeover_reported":
      return alert("This device was signed out because its sign-in was reported as not you.", from);
    default:
      return info("You are signed out.");
  }
}

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
  // The rule is shown where it applies: choosing a password, before any error.
  show($("password-rule"), signingUp);
  clearErrors(authForm, $("auth-error"));
});

/** The password rule, shown before any error (and named in it): the input's own `minlength`. */
const MIN_PASSWORD = Number($("password").getAttribute("minlength") ?? 8);
/** @param {string} id */
const input = (id) => /** @type {HTMLInputElement} */ ($(id));

authForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(authForm);
  // Never the password: a space at either end is part of it (the API compares it exactly, after NFKC).
  const [email, deviceName] = ["email", "device_name"].map((field) => String(data.get(field) ?? "").trim());
  const password = String(data.get("password") ?? "");
  const error = $("auth-error");
  const signingUp = authForm.dataset.mode === "signup";
  clearErrors(authForm, error);
  // Checked here first, in sentences; the server checks again.
  let refused = false;
  if (!email) {
    fieldError(input("email"), "Enter your email address.");
    refused = true;
  } else if (!/^[^\s@]+@[^\s@]+$/.test(email)) {
    fieldError(input("email"), "Enter an email address like name@example.com.");
    refused = true;
  }
  if (!password) {
    fieldError(input("password"), "Enter your password.");
    refused = true;
  } else if (signingUp && [...password].length < MIN_PASSWORD) {
    fieldError(input("password"), `The password must be at least ${MIN_PASSWORD} characters long.`);
    refused = true;
  }
  if (refused) return;
  passkeys.stopConditional();
  try {
    if (signingUp) await client.signUp(email ?? "", password, deviceName);
    else await client.signIn(email ?? "", password, deviceName);
    authForm.reset();
    notify("");
    await enter();
  } catch (failure) {
    const field = fieldOf(failure, {
      email: { input: input("email"), label: "The email address" },
      password: { input: input("password"), label: "The password" },
      device_name: { input: input("device-name"), label: "The device name" },
    });
    if (field) fieldError(field.input, field.message);
    else if (failure instanceof ApiProblem && failure.code === "email_taken")
      fieldError(input("email"), "An account with this email address already exists. Sign in instead.");
    else {
      const wrong = failure instanceof ApiProblem && failure.code === "invalid_credentials";
      error.textContent = wrong ? "The email address or the password is not correct." : formMessage(failure, "Could not sign in.");
      show(error, true);
    }
    passkeys.offerAutofill();
  }
});

const passwordForm = /** @type {HTMLFormElement} */ ($("password-form"));
passwordForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(passwordForm);
  const result = $("password-result");
  clearErrors(passwordForm, result);
  const current = String(data.get("current_password") ?? "");
  const next = String(data.get("new_password") ?? "");
  let refused = false;
  if (!current) {
    fieldError(input("current-password"), "Enter your current password.");
    refused = true;
  }
  if ([...next].length < MIN_PASSWORD) {
    fieldError(input("new-password"), `The new password must be at least ${MIN_PASSWORD} characters long.`);
    refused = true;
  }
  if (refused) return;
  try {
    await client.api("/v1/auth/password", {
      method: "POST",
      json: { current_password: current, new_password: next, sign_out_others: data.get("sign_out_others") === "on" },
    });
    passwordForm.reset();
    // One notice at a time: this replaces whatever the page said before.
    notify("Password changed.", "info", data.get("sign_out_others") === "on" ? "Your other devices were signed out." : "");
    void loadHistory();
    await loadDevices();
  } catch (error) {
    const field = fieldOf(error, {
      current_password: { input: input("current-password"), label: "The current password" },
      new_password: { input: input("new-password"), label: "The new password" },
    });
    if (field) fieldError(field.input, field.message);
    else if (error instanceof ApiProblem && error.code === "invalid_credentials")
      fieldError(input("current-password"), "The current password is not correct.");
    else {
      result.className = "error";
      result.textContent = formMessage(error, "Could not change the password.");
      show(result, true);
    }
  }
});

// "2 minutes ago" stays true without a reload.
setInterval(() => {
  for (const el of document.querySelectorAll(".device .active")) {
    const session = sessions.get(/** @type {HTMLElement} */ (el.closest(".device")).dataset.sessionId ?? "");
    if (session) el.textContent = activeText(session);
  }
  for (const time of /** @type {NodeListOf<HTMLTimeElement>} */ (document.querySelectorAll("#history-list time[datetime]")))
    time.textContent = ago(Date.parse(time.dateTime));
  renderNotices();
}, 30_000);

if (await client.resume()) await enter().catch(() => showView(client.signedIn));
else showView(false);
