// @ts-check
// The admin dashboard (markup: src/worker/web/admin-page.tsx; docs/operations.md). Its data comes
// from /admin/api/*, which is the admin API behind the admin cookie: the cookie is HttpOnly, so this
// script never holds a credential. Everything user-supplied is written with textContent.
// Past 300 lines on purpose: one page's views, each a few short functions over the same ids of
// admin-page.tsx; the figures themselves are in admin-charts.js.
import { barChart, countryName, formatDuration, formatTime, numbers, table, timeChart, wireTableToggles } from "./admin-charts.js";

/** @template {HTMLElement} T @param {string} id @returns {T} */
const $ = (id) => /** @type {T} */ (document.getElementById(id));
/** @param {HTMLElement} el @param {boolean} visible */
const show = (el, visible) => void (el.hidden = !visible);

class Problem extends Error {
  /** @param {number} status @param {any} body */
  constructor(status, body) {
    super(body?.detail ?? body?.title ?? `The service answered ${status}`);
    this.status = status;
    this.code = body?.code ?? "";
    this.retryAfter = 0;
  }
}

/**
 * One request to the dashboard's API; a 401 means the admin cookie expired (30 minutes, absolute).
 * @param {string} path @param {RequestInit} [init] @returns {Promise<any>}
 */
async function api(path, init = {}) {
  const response = await fetch(`/admin/api${path}`, { ...init, headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (response.status === 401) {
    signedOut("Your admin sign-in ended (it lasts 30 minutes). Sign in again.");
    throw new Problem(401, { detail: "Signed out" });
  }
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new Problem(response.status, body);
  return body;
}

/** @param {string} text @param {"info" | "alert"} [tone] */
function notify(text, tone = "info") {
  const notice = $("notice");
  notice.textContent = text;
  notice.className = `notice ${tone}`;
  notice.setAttribute("role", tone === "alert" ? "alert" : "status");
  show(notice, text !== "");
}

// ---- signing in and out ------------------------------------------------------------------------

/** @param {string} [message] */
function signedOut(message = "") {
  document.body.dataset.signedIn = "false";
  show($("dashboard"), false);
  show($("account"), false);
  show($("sign-in"), true);
  notify(message, "alert");
}

$("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($("admin-token"));
  const error = $("sign-in-error");
  show(error, false);
  if (input.value === "") {
    error.textContent = "Enter the admin token.";
    show(error, true);
    input.focus();
    return;
  }
  const response = await fetch("/admin/session", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: input.value }),
  });
  if (response.status !== 204) {
    const body = await response.json().catch(() => null);
    const minutes = Math.ceil(Number(response.headers.get("Retry-After") ?? "60") / 60);
    error.textContent =
      response.status === 401
        ? "That is not this service's admin token."
        : response.status === 429
          ? `Too many wrong tokens from this address. Try again in ${numbers.format(minutes)} minutes.`
          : (body?.detail ?? body?.title ?? "The service could not sign you in. Try again.");
    show(error, true);
    input.select();
    return;
  }
  input.value = "";
  document.body.dataset.signedIn = "true";
  notify("");
  show($("sign-in"), false);
  show($("dashboard"), true);
  show($("account"), true);
  await loadDashboard();
});

$("sign-out").addEventListener("click", async () => {
  await fetch("/admin/session", { method: "DELETE" });
  signedOut("Signed out.");
  $("user").hidden = true;
});

// ---- the dashboard -----------------------------------------------------------------------------

/** @type {Record<string, string>} */
const DEVICE_TYPES = { desktop: "Computer", mobile: "Phone", tablet: "Tablet", other: "Other device", unknown: "Unknown" };
/** @type {Record<string, string>} */
const REASONS = {
  signed_out: "Signed out",
  revoked_by_other_device: "Signed out by another device",
  signed_out_everywhere: "Signed out everywhere",
  password_changed: "Password changed",
  refresh_token_reuse: "Refresh-token reuse",
  session_limit: "Session limit (policy)",
  takeover_reported: "Reported as not the user",
  admin: "An operator",
  service: "Another service",
  reconciled: "Closed by a reconcile",
  expired: "Expired",
  lifetime: "Reached its lifetime",
  idle: "Idle too long",
};

/** @param {Record<string, number> | undefined} counts @param {(key: string) => string} label @param {(key: string) => string} path */
const itemsOf = (counts, label, path) =>
  Object.entries(counts ?? {}).map(([key, count]) => ({ key, label: label(key), count, path: path(key) }));
const sessionsPath = (/** @type {Record<string, string>} */ query) => `/sessions?${new URLSearchParams(query)}`;

async function loadDashboard() {
  /** @type {any} */
  let data;
  try {
    data = await api("/dashboard");
  } catch (error) {
    if (error instanceof Problem && error.status !== 401) notify(`The dashboard's figures could not be loaded: ${error.message}`, "alert");
    return;
  }
  $("generated").textContent = `Figures of ${formatTime(data.generated_at)}, cached up to ${numbers.format(data.cache_seconds)} s`;
  timeChart("chart-hourly", data.hourly, "hour", "the last 24 hours", openRows);
  timeChart("chart-daily", data.daily, "day", "the last 30 days", openRows);
  const live = data.live ?? {};
  $("live-total").textContent = `(${numbers.format(live.total ?? 0)} now)`;
  const noLive = "No live sessions right now.";
  barChart(
    "chart-device-type",
    itemsOf(
      live.by_device_type,
      (k) => DEVICE_TYPES[k] ?? k,
      (k) => sessionsPath({ state: "live", device_type: k }),
    ),
    noLive,
    "live sessions",
    "Device type",
    openRows,
  );
  barChart(
    "chart-browser",
    itemsOf(
      live.by_browser,
      (k) => k,
      (k) => sessionsPath({ state: "live", browser: k }),
    ),
    noLive,
    "live sessions",
    "Browser",
    openRows,
  );
  barChart(
    "chart-os",
    itemsOf(
      live.by_os,
      (k) => k,
      (k) => sessionsPath({ state: "live", os: k }),
    ),
    noLive,
    "live sessions",
    "Operating system",
    openRows,
  );
  barChart(
    "chart-country",
    itemsOf(live.by_country, countryName, (k) => sessionsPath({ state: "live", country: k })).map((item) => ({ ...item, short: item.key })),
    noLive,
    "live sessions",
    "Country",
    openRows,
  );
  const lifetimes = data.lifetimes ?? { ended_within_days: 30, buckets: [] };
  const lifetimeDays = numbers.format(lifetimes.ended_within_days);
  const since = new Date(Date.parse(data.generated_at) - lifetimes.ended_within_days * 86_400_000).toISOString();
  let previous = 0;
  const buckets = lifetimes.buckets.map((/** @type {any} */ bucket) => {
    const open = bucket.up_to_seconds === null;
    const label = open ? `${formatDuration(previous)} or more` : `Under ${formatDuration(bucket.up_to_seconds)}`;
    const short = open ? `≥ ${formatDuration(previous, "narrow")}` : `< ${formatDuration(bucket.up_to_seconds, "narrow")}`;
    const [min, max] = [previous, bucket.up_to_seconds ?? Number.POSITIVE_INFINITY];
    previous = bucket.up_to_seconds ?? previous;
    /** @param {any} row */
    const keep = (row) => {
      const lived = (Date.parse(row.ended_at) - Date.parse(row.created_at)) / 1000;
      return lived >= min && lived < max;
    };
    return { key: bucket.key, label, short, count: bucket.count, path: sessionsPath({ state: "ended", from: since }), keep };
  });
  // A histogram keeps its buckets in order of length, not of size.
  barChart(
    "chart-lifetimes",
    buckets,
    `No sessions ended in the last ${lifetimeDays} days.`,
    "sessions that ended",
    "Lifetime",
    openRows,
    true,
  );
  const endings = data.endings ?? { window_days: 30, by_reason: {} };
  const endedSince = new Date(Date.parse(data.generated_at) - endings.window_days * 86_400_000).toISOString();
  barChart(
    "chart-endings",
    itemsOf(
      endings.by_reason,
      (k) => REASONS[k] ?? k,
      (k) => sessionsPath({ state: "ended", reason: k, from: endedSince }),
    ),
    `No sessions ended in the last ${numbers.format(endings.window_days)} days.`,
    "sessions that ended",
    "How it ended",
    openRows,
  );
  topAccounts("busiest", data.top_accounts?.busiest ?? [], "sign_ins", "Sign-ins", "No sign-ins in the last 24 hours.");
  topAccounts("riskiest", data.top_accounts?.riskiest ?? [], "findings", "Findings", "No risk findings in the last 24 hours.");
}

/** @param {string} id @param {any[]} accounts @param {string} field @param {string} column @param {string} empty */
function topAccounts(id, accounts, field, column, empty) {
  const wrap = $(id);
  if (accounts.length === 0) {
    const p = document.createElement("p");
    p.className = "muted empty";
    p.textContent = empty;
    wrap.replaceChildren(p);
    return;
  }
  wrap.replaceChildren(
    table(
      {
        caption: `${column} in the last 24 hours, by account`,
        columns: ["Account", column],
        rows: accounts.map((account) => [
          accountCell(account.email, account.user_id),
          { text: numbers.format(account[field]), numeric: true, onClick: () => void openUser(account.user_id) },
        ]),
      },
      openRows,
    ),
  );
}

// ---- the rows behind a figure ------------------------------------------------------------------

/** @type {{ title: string, path: string, cursor: string | null, keep: (row: any) => boolean }} */
let rowsState = { title: "", path: "", cursor: null, keep: () => true };

/** @param {string} title @param {string} path @param {(row: any) => boolean} [keep] */
async function openRows(title, path, keep = () => true) {
  rowsState = { title, path, cursor: null, keep };
  $("rows-title").textContent = `Rows behind: ${title}`;
  $("rows-table").replaceChildren();
  show($("rows"), true);
  await loadRows();
  $("rows-title").focus();
}

async function loadRows() {
  const error = $("rows-error");
  show(error, false);
  const separator = rowsState.path.includes("?") ? "&" : "?";
  const path = rowsState.cursor ? `${rowsState.path}${separator}cursor=${encodeURIComponent(rowsState.cursor)}` : rowsState.path;
  /** @type {any} */
  let page;
  try {
    page = await api(path);
  } catch (e) {
    error.textContent = `The rows could not be loaded: ${e instanceof Error ? e.message : ""}`;
    show(error, true);
    return;
  }
  const spec = page.events ? eventRows(page.events.filter(rowsState.keep)) : sessionRows((page.sessions ?? []).filter(rowsState.keep));
  const existing = $("rows-table").querySelector("tbody");
  if (existing) {
    existing.append(...(table(spec, openRows).querySelector("tbody")?.children ?? []));
  } else if (spec.rows.length === 0) {
    $("rows-table").replaceChildren(emptyText("No rows: they may have aged out of the window since the figure was drawn."));
  } else {
    $("rows-table").replaceChildren(table(spec, openRows));
  }
  rowsState.cursor = page.next_cursor ?? null;
  show($("rows-more"), rowsState.cursor !== null);
}

/** @param {string | null} email @param {string} userId */
const accountCell = (email, userId) => ({ text: email ?? `${userId} (account gone)`, onClick: () => void openUser(userId) });

/** GET /admin/api/events rows: `{ user_id, email, event }`. @param {any[]} events @returns {import("./admin-charts.js").TableSpec} */
function eventRows(events) {
  return {
    caption: rowsState.title,
    columns: ["Account", "When (UTC)", "What", "Device", "Place"],
    rows: events.map(({ user_id, email, event }) => [
      accountCell(email, user_id),
      { text: formatTime(event.created_at) },
      { text: eventText(event) },
      { text: event.details?.device ? deviceOf(event.details.device) : "—" },
      { text: placeText(event.details?.place ?? event.details?.to) },
    ]),
  };
}

/** GET /admin/api/sessions rows. @param {any[]} sessions @returns {import("./admin-charts.js").TableSpec} */
function sessionRows(sessions) {
  return {
    caption: rowsState.title,
    columns: ["Account", "Device", "Place", "Bound to", "Signed in", "Ended", "How", "Lived"],
    rows: sessions.map((s) => [
      accountCell(s.email, s.user_id),
      { text: deviceOf(s.device) },
      { text: [placeOf(s), s.ip].filter(Boolean).join(" · ") },
      { text: BINDINGS[s.binding] ?? s.binding },
      { text: formatTime(s.created_at) },
      { text: s.ended_at ? formatTime(s.ended_at) : s.confirmed ? "Live" : "Live, sign-in unconfirmed" },
      { text: s.ending ? (REASONS[s.ending] ?? s.ending) : "—" },
      { text: s.ended_at ? formatDuration((Date.parse(s.ended_at) - Date.parse(s.created_at)) / 1000) : "—" },
    ]),
  };
}

/** @param {any} place */
const placeText = (place) =>
  [place?.city, place?.country ? countryName(place.country) : null, place?.ip].filter(Boolean).join(" · ") || "—";

/** @param {any} event */
function eventText(event) {
  const words = event.type.replaceAll("_", " ");
  const reason = event.details?.reason;
  return typeof reason === "string" ? `${words} (${REASONS[reason] ?? reason.replaceAll("_", " ")})` : words;
}

$("rows-more").addEventListener("click", () => void loadRows());
$("rows-close").addEventListener("click", () => show($("rows"), false));

// ---- one account -------------------------------------------------------------------------------

/** @type {any} */
let currentUser = null;

$("user-search").addEventListener("submit", async (event) => {
  event.preventDefault();
  const query = /** @type {HTMLInputElement} */ ($("user-query")).value.trim();
  const error = $("user-error");
  show(error, false);
  if (query === "") {
    error.textContent = "Enter an email address or a user id (usr_…).";
    show(error, true);
    return;
  }
  try {
    const { user } = /^usr_/.test(query)
      ? await api(`/users/${encodeURIComponent(query)}`)
      : await api(`/users?${new URLSearchParams({ email: query })}`);
    await showUser(user);
  } catch (e) {
    if (!(e instanceof Problem) || e.status === 401) return;
    error.textContent =
      e.status === 404 ? `No account is ${query}.` : e.status === 400 ? "That is not an email address or a user id." : e.message;
    show(error, true);
  }
});

/** @param {string} userId */
async function openUser(userId) {
  try {
    const { user } = await api(`/users/${encodeURIComponent(userId)}`);
    await showUser(user);
  } catch (e) {
    if (e instanceof Problem && e.status !== 401) notify(`That account could not be opened: ${e.message}`, "alert");
  }
}

/** @param {any} user */
async function showUser(user) {
  currentUser = user;
  const [sessions, history] = await Promise.all([
    api(`/users/${user.id}/sessions?history=true`),
    api(`/users/${user.id}/security-events?limit=20`),
  ]);
  $("user-email").textContent = user.email;
  const facts = $("user-facts");
  facts.replaceChildren();
  for (const [term, value] of [
    ["User id", user.id],
    ["Created", formatTime(user.created_at)],
    ["Password changed", user.password_changed_at ? formatTime(user.password_changed_at) : "Never"],
    ["State", user.disabled_at ? `Disabled since ${formatTime(user.disabled_at)}` : "Active"],
  ]) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    facts.append(dt, dd);
  }
  show($("user-disable"), !user.disabled_at);
  show($("user-enable"), Boolean(user.disabled_at));
  show($("user-action-error"), false);
  renderLive(sessions.sessions);
  renderEnded(sessions.history ?? []);
  renderHistory(history.events);
  show($("user"), true);
  $("user-email").focus();
}

const BINDINGS = /** @type {Record<string, string>} */ ({ none: "None (bearer)", dpop: "DPoP key", dbsc: "DBSC (browser key)" });
const placeOf = (/** @type {any} */ s) =>
  [s.location?.city, s.location?.country ? countryName(s.location.country) : null].filter(Boolean).join(", ") || "Unknown place";
/** A device in words; its default name is already "<browser> on <os>", which is then not said twice. */
const deviceOf = (/** @type {any} */ d) => {
  const platform = [d.browser, d.os].filter(Boolean).join(" on ");
  return [d.name, d.name === platform ? null : platform, DEVICE_TYPES[d.type] ?? d.type].filter(Boolean).join(" · ");
};

/** @param {any[]} sessions */
function renderLive(sessions) {
  const wrap = $("user-live");
  if (sessions.length === 0) return void wrap.replaceChildren(emptyText("No live sessions."));
  const t = table(
    {
      caption: "Live sessions",
      quietCaption: true,
      columns: ["Device", "Place", "IP", "Bound to", "Signed in", "Last active", "Action"],
      rows: sessions.map((s) => [
        { text: deviceOf(s.device) },
        { text: placeOf(s) },
        { text: s.ip ?? "—" },
        { text: BINDINGS[s.binding] ?? s.binding },
        { text: s.confirmed ? formatTime(s.created_at) : `${formatTime(s.created_at)} (sign-in unconfirmed)` },
        { text: formatTime(s.last_active_at) },
        { text: "" },
      ]),
    },
    openRows,
  );
  // The last cell of each row: its own sign-out button, named for the device.
  t.querySelectorAll("tbody tr").forEach((tr, i) => {
    const session = sessions[i];
    tr.setAttribute("data-session-id", session.id);
    const button = document.createElement("button");
    button.type = "button";
    button.className = "danger small";
    button.textContent = "Sign out";
    button.setAttribute("aria-label", `Sign out ${deviceOf(session.device)}`);
    button.addEventListener("click", () =>
      act(
        {
          title: "Sign this session out?",
          text: `${deviceOf(session.device)}, ${placeOf(session)}: its next request will be refused.`,
          yes: "Sign out",
        },
        () => api(`/users/${currentUser.id}/sessions/${session.id}`, { method: "DELETE" }),
        "The session was signed out.",
      ),
    );
    tr.lastElementChild?.append(button);
  });
  wrap.replaceChildren(t);
}

/** @param {any[]} sessions */
function renderEnded(sessions) {
  const wrap = $("user-ended");
  if (sessions.length === 0) return void wrap.replaceChildren(emptyText("No sessions ended recently."));
  wrap.replaceChildren(
    table(
      {
        caption: "Sessions that ended",
        quietCaption: true,
        columns: ["Device", "Place", "Signed in", "Ended", "How"],
        rows: sessions.map((s) => [
          { text: deviceOf(s.device) },
          { text: [s.country ? countryName(s.country) : null, s.ip].filter(Boolean).join(" · ") || "—" },
          { text: formatTime(s.created_at) },
          { text: formatTime(s.revoked_at ?? s.expires_at) },
          { text: s.revoked_reason ? (REASONS[s.revoked_reason] ?? s.revoked_reason) : "Expired" },
        ]),
      },
      openRows,
    ),
  );
}

/** @param {any[]} events */
function renderHistory(events) {
  const wrap = $("user-history");
  if (events.length === 0) return void wrap.replaceChildren(emptyText("No security events in the retention window."));
  wrap.replaceChildren(
    table(
      {
        caption: "Security history, newest first",
        quietCaption: true,
        columns: ["When (UTC)", "What", "Device", "Place"],
        rows: events.map((e) => [
          { text: formatTime(e.created_at) },
          { text: eventText(e) },
          { text: e.details?.device ? deviceOf(e.details.device) : "—" },
          { text: placeText(e.details?.place) },
        ]),
      },
      openRows,
    ),
  );
}

const emptyText = (/** @type {string} */ text) => {
  const p = document.createElement("p");
  p.className = "muted";
  p.textContent = text;
  return p;
};

// ---- acting, after a confirmation --------------------------------------------------------------

/**
 * Asks in the dialog; resolves true only for its confirm button.
 * @param {{ title: string, text: string, yes: string }} question @returns {Promise<boolean>}
 */
function confirmAction(question) {
  const dialog = /** @type {HTMLDialogElement} */ ($("confirm"));
  $("confirm-title").textContent = question.title;
  $("confirm-text").textContent = question.text;
  $("confirm-yes").textContent = question.yes;
  dialog.returnValue = "";
  dialog.showModal();
  $("confirm-no").focus();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true }));
}

/**
 * @param {{ title: string, text: string, yes: string }} question @param {() => Promise<any>} action
 * @param {string | ((result: any) => string)} done
 */
async function act(question, action, done) {
  if (!currentUser || !(await confirmAction(question))) return;
  const error = $("user-action-error");
  show(error, false);
  try {
    const result = await action();
    notify(typeof done === "string" ? done : done(result));
    await openUser(currentUser.id);
    void loadDashboard();
  } catch (e) {
    if (!(e instanceof Problem) || e.status === 401) return;
    error.textContent = `That did not work: ${e.message}`;
    show(error, true);
  }
}

$("user-revoke-all").addEventListener("click", () =>
  act(
    { title: "Sign out every session?", text: `Every device of ${currentUser?.email} is signed out at once.`, yes: "Sign out everything" },
    () => api(`/users/${currentUser.id}/sessions/revoke-all`, { method: "POST" }),
    (r) => `${numbers.format(r.revoked)} sessions were signed out.`,
  ),
);
$("user-disable").addEventListener("click", () =>
  act(
    {
      title: "Disable this account?",
      text: `${currentUser?.email} is signed out everywhere and cannot sign in until enabled.`,
      yes: "Disable",
    },
    () => api(`/users/${currentUser.id}/disable`, { method: "POST" }),
    (r) => `The account is disabled; ${numbers.format(r.revoked)} sessions were signed out.`,
  ),
);
$("user-enable").addEventListener("click", () =>
  act(
    { title: "Enable this account?", text: `${currentUser?.email} may sign in again.`, yes: "Enable" },
    () => api(`/users/${currentUser.id}/enable`, { method: "POST" }),
    "The account is enabled.",
  ),
);
$("user-reconcile").addEventListener("click", () =>
  act(
    {
      title: "Reconcile this account?",
      text: "The registry re-sends its sessions to D1, and rows it no longer holds live are closed.",
      yes: "Reconcile",
    },
    () => api(`/users/${currentUser.id}/reconcile`, { method: "POST" }),
    (r) => `Reconciled: ${numbers.format(r.live_sessions)} live sessions, ${numbers.format(r.stale_rows_closed)} stale rows closed.`,
  ),
);

wireTableToggles();
if (document.body.dataset.signedIn === "true") void loadDashboard();
