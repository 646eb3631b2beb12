// Browser test of the admin dashboard (/admin): Debian's Chromium driven by playwright-core against
// `wrangler dev` with a fresh state directory, so every count the dashboard shows is one this test
// seeded through the API. Run: `npm run test:browser` (add `-- --screenshots` to refresh
// docs/admin-desktop.png, docs/admin-phone.png and docs/admin-user.png).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startDevServer } from "./server.mjs";

const PASSWORD = "correct horse battery staple";
const USER_AGENTS = {
  laptop: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  phone:
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  tablet: "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
};
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const takeScreenshots = process.argv.includes("--screenshots");
const ADMIN_TOKEN = randomBytes(32).toString("base64url");
/** axe-core, evaluated in the page over the DevTools protocol: the page's CSP allows no injected script tag. */
const AXE = readFileSync(new URL("../../node_modules/axe-core/axe.min.js", import.meta.url), "utf8");
const OVERALL_TIMEOUT_MS = 8 * 60_000;

let server;
let browser;
let stopping = null;
const state = mkdtempSync(join(tmpdir(), "admin-browser-"));
/** Ends Chromium and wrangler dev once, each bounded, and removes the state directory. */
function stopAll() {
  stopping ??= (async () => {
    const bounded = (promise, ms) => Promise.race([promise.catch(() => {}), new Promise((resolve) => setTimeout(resolve, ms))]);
    await bounded(browser?.close() ?? Promise.resolve(), 10_000);
    await bounded(server?.stop() ?? Promise.resolve(), 10_000);
    rmSync(state, { recursive: true, force: true });
  })();
  return stopping;
}
let bailed = false;
async function bail(message, code = 1) {
  if (bailed) return;
  bailed = true;
  console.log(`not ok - the admin dashboard\n  ${message}`);
  await stopAll();
  process.exit(code);
}
process.on("SIGTERM", () => bail("stopped by SIGTERM", 143));
process.on("SIGINT", () => bail("stopped by SIGINT", 130));
process.on("SIGHUP", () => bail("stopped by SIGHUP", 129));
const overall = setTimeout(() => bail(`the run did not finish within ${OVERALL_TIMEOUT_MS / 1000} s`), OVERALL_TIMEOUT_MS);

/** One step, said on stderr when done; a step that takes longer than `ms` fails with its name. */
async function step(name, ms, fn) {
  let timer;
  const started = Date.now();
  try {
    return await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`step "${name}" did not finish within ${ms / 1000} s`)), ms);
      }),
    ]).then((value) => {
      process.stderr.write(`# ${name} (${Date.now() - started} ms)\n`);
      return value;
    });
  } catch (error) {
    process.stderr.write(`# ${name}: failed after ${Date.now() - started} ms\n`);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** The service's API, as a device (not the page) calls it. */
async function post(path, body, userAgent = USER_AGENTS.laptop) {
  const response = await fetch(`${server.origin}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "User-Agent": userAgent },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: response.status === 204 ? null : await response.json() };
}
async function signUp(email, device) {
  const { status, body } = await post("/v1/auth/signup", { email, password: PASSWORD, token_transport: "body" }, USER_AGENTS[device]);
  assert.equal(status, 201, `sign-up of ${email}`);
  return body;
}
async function signIn(email, device) {
  const { status, body } = await post("/v1/auth/login", { email, password: PASSWORD, token_transport: "body" }, USER_AGENTS[device]);
  assert.equal(status, 200, `sign-in of ${email} on the ${device}`);
  return body;
}
async function wrongPassword(email) {
  const { status } = await post("/v1/auth/login", { email, password: `${PASSWORD} wrong`, token_transport: "body" });
  assert.equal(status, 401);
}

/** Runs axe on the page as it is now: no violation of any rule, with which state it was and where. */
async function expectAccessible(page, what) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(AXE);
  const { violations } = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const found = violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((node) => node.target.join(" ")).join(", ")}`);
  assert.deepEqual(found, [], `axe found violations with ${what}`);
}

/** A page and every console error, uncaught exception and CSP complaint it logged. */
async function openPage(viewport) {
  const context = await browser.newContext({ viewport, locale: "en-US", userAgent: USER_AGENTS.laptop });
  const page = await context.newPage();
  const errors = [];
  const csp = [];
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) csp.push(message.text());
    if (message.type() === "error") errors.push(`${message.text()} ${message.location()?.url ?? ""}`.trim());
  });
  page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));
  await page.goto(`${server.origin}/admin`);
  return { context, page, errors, csp };
}

async function signInAdmin(page, token) {
  await page.getByLabel("Admin token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** The cells of one table row (its header cell first), by the row's first cell's text. */
async function rowOf(page, tableSelector, first) {
  const row = page.locator(`${tableSelector} tbody tr`).filter({ has: page.locator("th", { hasText: new RegExp(`^${first}$`) }) });
  return row.locator("th, td").allTextContents();
}

/** A chart's table alternative as { first cell: [the other cells] }, after opening its toggle. */
async function tableOf(page, figureId) {
  const toggle = page.locator(`#${figureId} .table-toggle`);
  if ((await toggle.getAttribute("aria-expanded")) !== "true") await toggle.click();
  const rows = await page
    .locator(`#${figureId} .table-wrap tbody tr`)
    .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
  return Object.fromEntries(rows.map(([first, ...rest]) => [first, rest]));
}

let failed = false;
try {
  server = await step("wrangler dev answers /healthz", 150_000, () => startDevServer({ vars: { ADMIN_TOKEN }, persistTo: state }));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  const tag = Date.now().toString(36);
  const ada = `ada-${tag}@example.com`;
  const ben = `ben-${tag}@example.com`;
  const cy = `cy-${tag}@example.com`;

  const emptyAt = await step("says what an empty dashboard means", 30_000, async () => {
    const { context, page, errors } = await openPage(DESKTOP);
    await signInAdmin(page, ADMIN_TOKEN);
    await page
      .locator("#chart-hourly .empty", { hasText: "No sign-ins, failures, findings or revocations in the last 24 hours." })
      .waitFor();
    await page.locator("#chart-daily .empty", { hasText: "No sign-ins, failures, findings or revocations in the last 30 days." }).waitFor();
    for (const id of ["chart-device-type", "chart-browser", "chart-os", "chart-country"]) {
      assert.equal(await page.locator(`#${id} .empty`).textContent(), "No live sessions right now.");
    }
    assert.equal(await page.locator("#chart-endings .empty").textContent(), "No sessions ended in the last 30 days.");
    assert.equal(await page.locator("#busiest").textContent(), "No sign-ins in the last 24 hours.");
    assert.equal(await page.locator("#riskiest").textContent(), "No risk findings in the last 24 hours.");
    assert.equal(await page.locator("canvas").count(), 0, "no chart is drawn without data");
    await expectAccessible(page, "the empty dashboard");
    assert.deepEqual(errors, []);
    await context.close();
    return Date.now();
  });

  // Seeded through the API: six sign-ins (three sign-ups, three log-ins), three wrong passwords,
  // one sign-out. Ada signs in on a laptop, a phone and a tablet; Ben on a laptop and a phone, and
  // the phone signs out; Cy on a laptop.
  const seeded = await step("seeds sign-ups, sign-ins, wrong passwords and a sign-out", 60_000, async () => {
    const adaLaptop = await signUp(ada, "laptop");
    const adaPhone = await signIn(ada, "phone");
    await signIn(ada, "tablet");
    await signUp(ben, "laptop");
    const benPhone = await signIn(ben, "phone");
    await signUp(cy, "laptop");
    await wrongPassword(ada);
    await wrongPassword(ada);
    await wrongPassword(ben);
    const out = await fetch(`${server.origin}/v1/auth/logout`, {
      method: "POST",
      headers: { Authorization: `Bearer ${benPhone.access_token}` },
    });
    assert.equal(out.status, 204);
    return { adaId: adaLaptop.user.id, adaPhone };
  });

  await step("refuses a wrong admin token with a message, and logs nothing else", 30_000, async () => {
    const { context, page, errors, csp } = await openPage(DESKTOP);
    await expectAccessible(page, "the sign-in form");
    await signInAdmin(page, `${ADMIN_TOKEN.slice(0, -1)}x`);
    await page.getByText("That is not this service's admin token.").waitFor();
    assert.ok(await page.locator("#sign-in-form").isVisible());
    assert.ok(await page.locator("#dashboard").isHidden());
    // The refusal's 401 is the one error Chromium logs (for the response, not the page's code).
    assert.equal(errors.length, 1, errors.join("\n"));
    assert.match(errors[0], /status of 401.*\/admin\/session$/);
    assert.deepEqual(csp, []);
    await expectAccessible(page, "a refused token");
    await context.close();
  });

  // The figures are computed once per UTC minute (cache_seconds): the seeded ones are the next minute's.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, 60_000 - (emptyAt % 60_000)) + 500));

  const admin = await step("signs in and draws every chart", 60_000, async () => {
    const opened = await openPage(DESKTOP);
    await signInAdmin(opened.page, ADMIN_TOKEN);
    await opened.page.locator("#dashboard").waitFor();
    for (const id of [
      "chart-hourly",
      "chart-daily",
      "chart-device-type",
      "chart-browser",
      "chart-os",
      "chart-country",
      "chart-lifetimes",
      "chart-endings",
    ]) {
      await opened.page.locator(`#${id} .plot canvas`).waitFor();
    }
    // The admin cookie is HttpOnly: the page's script cannot read it.
    assert.equal(await opened.page.evaluate(() => document.cookie), "");
    return opened;
  });
  const { page } = admin;

  await step("shows the seeded counts in every chart's table", 30_000, async () => {
    const series = [
      "Sign-ins",
      "Failed sign-ins",
      "New devices",
      "Impossible travel",
      "Network changes",
      "Refresh-token reuse",
      "Revocations",
    ];
    for (const id of ["chart-hourly", "chart-daily"]) {
      const totals = (await tableOf(page, id)).Total;
      const byName = Object.fromEntries(series.map((name, i) => [name, totals[i]]));
      assert.deepEqual(
        byName,
        {
          "Sign-ins": "6",
          "Failed sign-ins": "3",
          // The phones and the tablet: a kind of device each account had not used before.
          "New devices": "3",
          "Impossible travel": "0",
          "Network changes": "0",
          "Refresh-token reuse": "0",
          Revocations: "1",
        },
        id,
      );
    }
    assert.deepEqual(await tableOf(page, "chart-device-type"), { Computer: ["3"], Phone: ["1"], Tablet: ["1"] });
    assert.deepEqual(await tableOf(page, "chart-browser"), { Chrome: ["4"], "Mobile Safari": ["1"] });
    assert.deepEqual(await tableOf(page, "chart-os"), { "Mac OS": ["3"], Android: ["1"], iOS: ["1"] });
    const countries = await tableOf(page, "chart-country");
    assert.deepEqual(Object.values(countries), [["5"]], JSON.stringify(countries));
    assert.equal(await page.locator("#live-total").textContent(), "(5 now)");
    const lifetimes = await tableOf(page, "chart-lifetimes");
    assert.deepEqual(lifetimes["Under 1 hour"], ["1"]);
    assert.equal(
      Object.values(lifetimes).reduce((sum, [n]) => sum + Number(n), 0),
      1,
    );
    const endings = await tableOf(page, "chart-endings");
    assert.deepEqual(endings["Signed out"], ["1"]);
    assert.equal(
      Object.values(endings).reduce((sum, [n]) => sum + Number(n), 0),
      1,
    );
    assert.deepEqual(await rowOf(page, "#busiest", ada), [ada, "3"]);
    assert.deepEqual(await rowOf(page, "#busiest", ben), [ben, "2"]);
    assert.deepEqual(await rowOf(page, "#busiest", cy), [cy, "1"]);
    assert.deepEqual(await rowOf(page, "#riskiest", ada), [ada, "2"]);
    // Times say their zone.
    assert.match(String(await page.locator("#generated").textContent()), /UTC/);
    await expectAccessible(page, "the dashboard with every table open");
  });

  await step("opens the rows behind a figure", 30_000, async () => {
    await page.locator("#chart-hourly tbody tr", { hasText: "Total" }).locator("button").first().click();
    await page.locator("#rows-table tbody tr").first().waitFor();
    assert.equal(await page.locator("#rows-table tbody tr").count(), 6);
    const accounts = await page.locator("#rows-table tbody tr th").allTextContents();
    assert.deepEqual(accounts.sort(), [ada, ada, ada, ben, ben, cy].sort());
    await page.locator("#chart-endings").getByRole("button", { name: "Sessions that ended, Signed out: 1", exact: true }).click();
    await page.locator("#rows-title", { hasText: "Signed out" }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll("#rows-table tbody tr").length === 1);
    assert.match(String(await page.locator("#rows-table tbody tr").textContent()), new RegExp(ben));
    // A lifetime bucket: only the sessions that lived that long.
    await page.locator("#chart-lifetimes").getByRole("button", { name: "Sessions that ended, Under 1 hour: 1", exact: true }).click();
    await page.locator("#rows-title", { hasText: "Under 1 hour" }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll("#rows-table tbody tr").length === 1);
    // A live figure: the one phone still signed in is Ada's.
    await page.locator("#chart-device-type").getByRole("button", { name: "Live sessions, Phone: 1", exact: true }).click();
    await page.locator("#rows-title", { hasText: "Phone" }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll("#rows-table tbody tr").length === 1);
    assert.match(String(await page.locator("#rows-table tbody tr").textContent()), new RegExp(`${ada}.*iOS`));
  });

  if (takeScreenshots) {
    // The figures as a person first sees them: every table closed again.
    for (const toggle of await page.locator(".table-toggle").all()) {
      if ((await toggle.getAttribute("aria-expanded")) === "true") await toggle.click();
    }
    await page.locator("#rows-close").click();
    await page.screenshot({ path: "docs/admin-desktop.png", fullPage: true });
  }

  await step("finds a user and signs one of their sessions out after a confirmation; that device is refused", 60_000, async () => {
    await page.getByLabel("Email or user id").fill(ada.toUpperCase());
    await page.getByRole("button", { name: "Find" }).click();
    await page.locator("#user-email", { hasText: ada }).waitFor();
    assert.equal(await page.locator("#user-live tbody tr").count(), 3);
    assert.ok((await page.locator("#user-history tbody tr").count()) >= 3);
    const phoneRow = page.locator(`#user-live tr[data-session-id="${seeded.adaPhone.session.id}"]`);
    assert.match(String(await phoneRow.textContent()), /iOS/);
    // Cancel first: nothing is sent.
    const deletes = [];
    page.on("request", (request) => request.method() === "DELETE" && deletes.push(new URL(request.url()).pathname));
    await phoneRow.getByRole("button", { name: /^Sign out/ }).click();
    const dialog = page.locator("#confirm");
    await dialog.waitFor();
    await expectAccessible(page, "the confirmation dialog");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    await page.waitForLoadState("networkidle");
    assert.deepEqual(deletes, [], "a cancelled sign-out sends nothing");
    assert.equal(await page.locator("#user-live tbody tr").count(), 3);
    // Then for real.
    await phoneRow.getByRole("button", { name: /^Sign out/ }).click();
    await dialog.getByRole("button", { name: "Sign out", exact: true }).click();
    await page.getByText("The session was signed out.").waitFor();
    assert.deepEqual(deletes, [`/admin/api/users/${seeded.adaId}/sessions/${seeded.adaPhone.session.id}`]);
    await page.waitForFunction(() => document.querySelectorAll("#user-live tbody tr").length === 2);
    const refreshed = await post("/v1/auth/refresh", { refresh_token: seeded.adaPhone.refresh_token }, USER_AGENTS.phone);
    assert.equal(refreshed.status, 401);
    const me = await fetch(`${server.origin}/v1/me`, { headers: { Authorization: `Bearer ${seeded.adaPhone.access_token}` } });
    assert.equal(me.status, 401);
    await expectAccessible(page, "a user's sessions and history");
    if (takeScreenshots) await page.locator("#user").screenshot({ path: "docs/admin-user.png" });
  });

  if (takeScreenshots) {
    const phone = await openPage(PHONE);
    await signInAdmin(phone.page, ADMIN_TOKEN);
    await phone.page.locator("#chart-hourly .plot canvas").waitFor();
    await phone.page.locator("#chart-endings .plot canvas").waitFor();
    await phone.page.screenshot({ path: "docs/admin-phone.png", fullPage: true });
    assert.deepEqual(phone.errors, []);
    await phone.context.close();
  }

  await step("signs out", 30_000, async () => {
    await page.locator("#sign-out").click();
    await page.locator("#sign-in-form").waitFor();
    await page.reload();
    await page.locator("#sign-in-form").waitFor();
    assert.ok(await page.locator("#dashboard").isHidden());
  });

  assert.deepEqual(admin.errors, [], "no console errors");
  assert.deepEqual(admin.csp, [], "no CSP violations");
  console.log("ok - the admin dashboard");
} catch (error) {
  failed = true;
  console.log(
    `not ok - the admin dashboard\n  ${String(error?.stack ?? error)
      .split("\n")
      .join("\n  ")}`,
  );
  console.log(server?.output.join("").slice(-3000) ?? "");
} finally {
  clearTimeout(overall);
  await stopAll();
}
process.exit(failed ? 1 : 0);
