// Issue 12 in Chromium: a cross-site logout changes no cookie (item 14), and the devices page sends
// a password exactly as typed (item 4). Debian's Chromium driven by playwright-core against
// `wrangler dev`, like devices.browser.mjs. Run: `npm run test:browser`.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import { chromium } from "playwright-core";
import { freePort } from "../../scripts/free-port.mjs";
import { startDevServer } from "./server.mjs";

const PASSWORD = "correct horse battery staple";
const REFRESH_COOKIE = "__Host-refresh_token";
const tests = [];
const test = (name, fn) => tests.push({ name, fn });

async function signUpOnPage(browser, origin, email, password) {
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  await page.goto(origin);
  await page.locator("#auth-form").waitFor();
  await page.getByRole("button", { name: "Create an account instead" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.locator("#auth-submit").click();
  await page.locator("#devices").waitFor();
  return { context, page };
}

const refreshCookie = async (context, origin) => (await context.cookies(origin)).find((cookie) => cookie.name === REFRESH_COOKIE);

/**
 * Another site (127.0.0.1 is not the same site as localhost) with a plain HTML form posting to the
 * service's logout: what a hostile page can make a signed-in browser send.
 */
async function startForeignSite(origin) {
  const port = await freePort();
  const server = createServer((_request, response) => {
    response.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    response.end(`<!doctype html><form method="POST" action="${origin}/v1/auth/logout"><button>Win a prize</button></form>`);
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${port}/`, stop: () => new Promise((resolve) => server.close(resolve)) };
}

test("a cross-site form POST to logout changes no cookie: the browser stays signed in", async ({ browser, origin }) => {
  const email = `cross-site-${Date.now().toString(36)}@example.com`;
  const { context, page } = await signUpOnPage(browser, origin, email, PASSWORD);
  const before = await refreshCookie(context, origin);
  assert.ok(before?.value, "signed in with a refresh cookie");
  const foreign = await startForeignSite(origin);
  try {
    const attacker = await context.newPage();
    await attacker.goto(foreign.url);
    const answered = attacker.waitForResponse((response) => response.url().endsWith("/v1/auth/logout"));
    await attacker.getByRole("button", { name: "Win a prize" }).click();
    const response = await answered;
    assert.equal(response.status(), 403, "refused as csrf_rejected");
    assert.equal(await response.headerValue("set-cookie"), null, "no Set-Cookie");
    await attacker.close();
  } finally {
    await foreign.stop();
  }
  const after = await refreshCookie(context, origin);
  assert.equal(after?.value, before.value, "the refresh cookie is still there, unchanged");
  // And it still works: a reload signs the page in from the cookie.
  await page.reload();
  await page.locator("#devices").waitFor();
  await context.close();
});

test("the devices page sends a password with spaces at its ends exactly as typed", async ({ browser, origin }) => {
  const email = `spaces-${Date.now().toString(36)}@example.com`;
  const spaced = `  ${PASSWORD}  `;
  const { context } = await signUpOnPage(browser, origin, email, spaced);
  await context.close();
  const login = (password) =>
    fetch(`${origin}/v1/auth/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email, password, token_transport: "body" }),
    });
  assert.equal((await login(spaced)).status, 200, "the password set on the page is the one typed");
  assert.equal((await login(PASSWORD)).status, 401, "not its trimmed form");
});

// ---- runner (as in devices.browser.mjs) -----------------------------------------------------------

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
if (!existsSync(chromiumPath)) {
  console.error(`Chromium not found at ${chromiumPath}: install it, or set CHROMIUM_PATH to a Chromium or Chrome binary.`);
  process.exit(1);
}
const server = await startDevServer();
let passed = 0;
let failed = 0;
let browser;
try {
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
  });
  for (const { name, fn } of tests) {
    try {
      await fn({ browser, origin: server.origin });
      passed++;
      console.log(`ok - ${name}`);
    } catch (error) {
      failed++;
      console.log(
        `not ok - ${name}\n  ${String(error?.stack ?? error)
          .split("\n")
          .join("\n  ")}`,
      );
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
