// Browser tests of the devices page: Debian's Chromium driven by playwright-core against
// `wrangler dev`. Run: `npm run test:browser` (add `-- --screenshots` to refresh docs/*.png).
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { startDevServer } from "./server.mjs";

const PASSWORD = "correct horse battery staple";
const USER_AGENTS = {
  laptop: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  phone: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  tablet: "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
};
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const takeScreenshots = process.argv.includes("--screenshots");

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

/** One browser "device": its own context (cookie jar), one page, and every CSP complaint it logged. */
async function openDevice(browser, origin, kind, viewport) {
  const context = await browser.newContext({ userAgent: USER_AGENTS[kind], viewport, locale: "en-US" });
  const page = await context.newPage();
  const cspViolations = [];
  page.on("console", (message) => /Content Security Policy/i.test(message.text()) && cspViolations.push(message.text()));
  await page.goto(origin);
  await page.locator("#auth-form").waitFor();
  return { context, page, cspViolations };
}

async function signIn({ page }, email, { signUp = false, deviceName = "" } = {}) {
  if (signUp) await page.getByRole("button", { name: "Create an account instead" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  if (deviceName) await page.getByLabel(/Name this device/).fill(deviceName);
  await page.locator("#auth-submit").click();
  await page.locator("#devices").waitFor();
}

const rows = (page) => page.locator("#device-list > li.device");
const currentSessionId = (page) => page.locator("li.device.current").getAttribute("data-session-id");

async function expectRowCount(page, count, timeout = 2000) {
  await page.waitForFunction((n) => document.querySelectorAll("#device-list > li.device").length === n, count, { timeout });
}

test("a device signed out from another device's page is told within a second, without a reload, and drops off the list", async ({ browser, origin }) => {
  const email = `browser-${Date.now().toString(36)}@example.com`;
  const laptop = await openDevice(browser, origin, "laptop", DESKTOP);
  const phone = await openDevice(browser, origin, "phone", PHONE);
  const tablet = await openDevice(browser, origin, "tablet", DESKTOP);
  await signIn(laptop, email, { signUp: true, deviceName: "Work laptop" });
  await signIn(phone, email);
  await signIn(tablet, email);

  // The laptop was already open: the two new sign-ins reach its list over the socket.
  await expectRowCount(laptop.page, 3);
  await laptop.page.locator("#live-state", { hasText: "Live" }).waitFor();
  await phone.page.locator("#live-state", { hasText: "Live" }).waitFor();
  assert.equal(await laptop.page.locator("li.device.current .device-name").textContent(), "Work laptop");
  assert.equal(await laptop.page.locator(".this-device:visible").count(), 1);

  if (takeScreenshots) {
    await laptop.page.screenshot({ path: "docs/screenshot-desktop.png", fullPage: true });
    await phone.page.screenshot({ path: "docs/screenshot-phone.png", fullPage: true });
  }

  const phoneSessionId = await currentSessionId(phone.page);
  assert.match(phoneSessionId ?? "", /^ses_/);
  await phone.page.evaluate(() => (window.notReloaded = true));

  const started = Date.now();
  await laptop.page.locator(`li.device[data-session-id="${phoneSessionId}"] .sign-out-button`).click();
  await phone.page.getByText("This device was signed out from another device.").waitFor({ timeout: 1000 });
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 1000, `the phone saw it after ${elapsed} ms`);
  assert.equal(await phone.page.evaluate(() => window.notReloaded), true, "the phone's page was not reloaded");
  assert.ok(await phone.page.locator("#auth-form").isVisible(), "the phone is back at the sign-in form");
  assert.equal(await phone.page.locator("#device-list > li").count(), 0, "the phone no longer shows the list");

  // The one-second promise is to the device signed out; the others' lists follow as fast as a
  // loaded machine lets them.
  await expectRowCount(laptop.page, 2, 3000);
  assert.equal(await laptop.page.locator(`li.device[data-session-id="${phoneSessionId}"]`).count(), 0);
  // The tablet heard about it too, without asking.
  await expectRowCount(tablet.page, 2, 3000);

  // Its refresh cookie is dead too: a reload lands on the sign-in form.
  await phone.page.reload();
  await phone.page.locator("#auth-form").waitFor();

  for (const device of [laptop, phone, tablet]) {
    assert.deepEqual(device.cspViolations, []);
    // The token is kept in memory only.
    assert.deepEqual(await device.page.evaluate(() => [localStorage.length, sessionStorage.length]), [0, 0]);
    await device.context.close();
  }
});

test("'Sign out all other devices' signs the others out live and keeps this one", async ({ browser, origin }) => {
  const email = `browser-others-${Date.now().toString(36)}@example.com`;
  const laptop = await openDevice(browser, origin, "laptop", DESKTOP);
  const tablet = await openDevice(browser, origin, "tablet", DESKTOP);
  await signIn(laptop, email, { signUp: true });
  await signIn(tablet, email);
  await expectRowCount(laptop.page, 2);
  await tablet.page.locator("#live-state", { hasText: "Live" }).waitFor();

  await laptop.page.getByRole("button", { name: "Sign out all other devices" }).click();
  await tablet.page.getByText("This device was signed out from another device.").waitFor({ timeout: 1000 });
  await expectRowCount(laptop.page, 1, 3000);
  assert.ok(await laptop.page.locator("#devices").isVisible());
  await laptop.context.close();
  await tablet.context.close();
});

test("a device list the server answered before a revocation does not bring the revoked device back", async ({ browser, origin }) => {
  const email = `browser-stale-${Date.now().toString(36)}@example.com`;
  const laptop = await openDevice(browser, origin, "laptop", DESKTOP);
  const phone = await openDevice(browser, origin, "phone", PHONE);
  const tablet = await openDevice(browser, origin, "tablet", DESKTOP);
  await signIn(laptop, email, { signUp: true });
  await signIn(phone, email);
  const phoneSessionId = await currentSessionId(phone.page);

  // The tablet's list requests reach the server at once, but their answers are held back: a slow
  // network delivering a list that was already true when the server wrote it.
  let release = () => {};
  const released = new Promise((resolve) => (release = resolve));
  let answered = 0;
  await tablet.page.route(
    (url) => url.pathname === "/v1/sessions",
    async (route) => {
      const response = await route.fetch();
      answered++;
      await released;
      await route.fulfill({ response });
    },
  );
  let revokedHeard = () => {};
  const tabletHeardRevocation = new Promise((resolve) => (revokedHeard = resolve));
  tablet.page.on("websocket", (socket) =>
    socket.on("framereceived", ({ payload }) => String(payload).includes("session_revoked") && String(payload).includes(String(phoneSessionId)) && revokedHeard()),
  );
  await signIn(tablet, email);
  await tablet.page.locator("#live-state", { hasText: "Live" }).waitFor();
  // Both of its loads (sign-in and socket open) have been answered with three devices.
  for (let i = 0; answered < 2 && i < 50; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(answered, 2);

  await expectRowCount(laptop.page, 3);
  await laptop.page.locator(`li.device[data-session-id="${phoneSessionId}"] .sign-out-button`).click();
  await tabletHeardRevocation;
  release();

  await expectRowCount(tablet.page, 2);
  assert.equal(await tablet.page.locator(`li.device[data-session-id="${phoneSessionId}"]`).count(), 0);
  for (const device of [laptop, phone, tablet]) await device.context.close();
});

test("two tabs of one browser share the session, and signing out in one signs out the other", async ({ browser, origin }) => {
  const email = `browser-tabs-${Date.now().toString(36)}@example.com`;
  const first = await openDevice(browser, origin, "laptop", DESKTOP);
  await signIn(first, email, { signUp: true });
  const second = await first.context.newPage();
  await second.goto(origin);
  await second.locator("#devices").waitFor();
  await expectRowCount(second, 1);

  await first.page.locator("#sign-out").click();
  await first.page.locator("#auth-form").waitFor();
  await second.locator("#auth-form").waitFor({ timeout: 3000 });
  // Its own sign-out is not reported as "signed out from another device".
  for (const page of [first.page, second]) assert.equal(await page.locator("#notice").textContent(), "You are signed out.");
  await first.context.close();
});

test("renaming a device updates the list, or says plainly that the server cannot rename yet", async ({ browser, origin }) => {
  const email = `browser-rename-${Date.now().toString(36)}@example.com`;
  const laptop = await openDevice(browser, origin, "laptop", DESKTOP);
  await signIn(laptop, email, { signUp: true });
  await laptop.page.getByRole("button", { name: /^Rename / }).click();
  const input = laptop.page.getByLabel("New name for this device");
  assert.ok(await input.evaluate((el) => el === document.activeElement), "the name field has focus");
  await input.fill("Kitchen Mac");
  await input.press("Enter");
  await laptop.page.waitForFunction(
    () => document.querySelector("li.device.current .device-name")?.textContent === "Kitchen Mac" || !document.querySelector("li.device .row-error")?.hidden,
    undefined,
    { timeout: 2000 },
  );
  await laptop.context.close();
});

// ---- runner ------------------------------------------------------------------------------------

const server = await startDevServer();
let passed = 0;
let failed = 0;
let browser;
try {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    // launch() starts Chromium with a new, empty temporary --user-data-dir and deletes it on close;
    // each test device is a separate incognito-like context with its own cookie jar.
  });
  for (const { name, fn } of tests) {
    try {
      await fn({ browser, origin: server.origin });
      passed++;
      console.log(`ok - ${name}`);
    } catch (error) {
      failed++;
      console.log(`not ok - ${name}\n  ${String(error?.stack ?? error).split("\n").join("\n  ")}`);
    }
  }
} catch (error) {
  failed++;
  console.log(`not ok - browser setup\n  ${error?.stack ?? error}`);
} finally {
  await browser?.close().catch(() => {});
  await server.stop();
}
if (failed > 0) console.log(server.output.join("").slice(-3000));
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
