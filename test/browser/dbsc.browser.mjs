// DBSC in a real browser (docs/dbsc.md): Debian's Chromium 156 with DBSC and software keys, against
// `wrangler dev` over HTTPS with a certificate made here (Chromium never registers over plain HTTP).
// Run: `npm run test:browser` (this file is its last step), or `node test/browser/dbsc.browser.mjs`.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startDevServer } from "./server.mjs";

const PASSWORD = "correct horse battery staple";
/** The shortest bound-cookie lifetime the config allows: its Max-Age is 5 s (the 5 s margin off). */
const COOKIE_SECONDS = 10;
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
if (!existsSync(chromiumPath)) {
  console.error(`Chromium not found at ${chromiumPath}: install it (sudo apt-get install chromium) or set CHROMIUM_PATH`);
  process.exit(1);
}

/** A self-signed P-256 certificate for localhost, and its SPKI pin (what --ignore-certificate-errors-spki-list takes). */
function makeCertificate() {
  const dir = mkdtempSync(join(tmpdir(), "dbsc-browser-"));
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  const made = spawnSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-addext",
      "extendedKeyUsage=serverAuth",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
  const certPem = readFileSync(cert, "utf8");
  // The DER SubjectPublicKeyInfo's SHA-256, not the bare EC point's (Chromium would reject the certificate).
  const spki = new X509Certificate(certPem).publicKey.export({ type: "spki", format: "der" });
  return { dir, key, cert, certPem, pin: createHash("sha256").update(spki).digest("base64") };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const refreshCookie = async (context) => (await context.cookies()).find((cookie) => cookie.name === "__Host-refresh_token");

async function signUp(page, origin, email) {
  await page.goto(origin);
  await page.locator("#auth-form").waitFor();
  await page.getByRole("button", { name: "Create an account instead" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.locator("#auth-submit").click();
  await page.locator("#devices").waitFor();
}

/** Signed in after a (re)load: the page got an access token from its refresh cookie. */
async function signedInAfterLoad(page, origin) {
  await page.goto(origin);
  await Promise.race([page.locator("#devices").waitFor(), page.locator("#auth-form").waitFor()]);
  return page.locator("#devices").isVisible();
}

/** `POST /v1/auth/refresh` from the page, with whatever cookie its browser holds (no DPoP proof). */
const refreshStatus = (page) => page.evaluate(() => fetch("/v1/auth/refresh", { method: "POST" }).then((response) => response.status));

/** Waits for Chromium to register: the refresh cookie becomes the short-lived bound one. */
async function shortLived(context) {
  const deadline = Date.now() + 10_000;
  let cookie = await refreshCookie(context);
  while (!(cookie && cookie.expires > 0 && cookie.expires - Date.now() / 1000 < 60) && Date.now() < deadline) {
    await sleep(200);
    cookie = await refreshCookie(context);
  }
  assert.ok(cookie && cookie.expires - Date.now() / 1000 < 60, `the refresh cookie did not become short-lived: ${JSON.stringify(cookie)}`);
}

const certificate = makeCertificate();
const server = await startDevServer({
  https: certificate,
  // Every in-scope request with under 120 s left refreshes (Chromium): the per-session limit must not be what a test meets.
  vars: { DBSC_COOKIE_SECONDS: String(COOKIE_SECONDS), REFRESH_SESSION_LIMIT: "1000" },
});
let browser;
let failed = false;
try {
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      // DBSC with software keys (Linux has no TPM provider); the signing quota off, as a 5 s cookie would exhaust it.
      "--enable-features=DeviceBoundSessions:RefreshQuota/false,EnableBoundSessionCredentialsSoftwareKeysForManualTesting",
      `--ignore-certificate-errors-spki-list=${certificate.pin}`,
      "--host-resolver-rules=MAP localhost 127.0.0.1",
    ],
  });
  const victim = await browser.newContext({ locale: "en-US" });
  const page = await victim.newPage();
  const email = `dbsc-${Date.now().toString(36)}@example.com`;
  await signUp(page, server.origin, email);

  // Chromium registers right after the sign-in answer.
  await shortLived(victim);
  assert.ok(await signedInAfterLoad(page, server.origin));
  await page.locator("li.device.current .binding", { hasText: "Bound to this device's hardware key" }).waitFor();
  console.log("ok - the devices page's session registers with DBSC and shows the binding");

  // Past the cookie's lifetime (and its server deadline): Chromium refreshes with its key on the next request.
  const before = (await refreshCookie(victim))?.value;
  await sleep((COOKIE_SECONDS + 2) * 1000);
  assert.ok(await signedInAfterLoad(page, server.origin), "the bound session did not survive its cookie's lifetime");
  const after = await refreshCookie(victim);
  assert.ok(after && after.value !== before, "the cookie was not renewed");
  console.log("ok - the session stays alive past the short cookie lifetime: Chromium refreshes it with its key");

  await victim.close();

  // The devices page binds its sessions with DPoP as well, so a copy of its cookie is refused
  // anywhere else from the start. A page that signs in without DPoP (a plain cookie sign-in by
  // fetch) has DBSC alone to stop a stolen cookie: that is the session the copy is tested on.
  const owner = await browser.newContext({ locale: "en-US" });
  const ownerPage = await owner.newPage();
  await ownerPage.goto(server.origin);
  await ownerPage.locator("#auth-form").waitFor();
  const plainEmail = `dbsc-plain-${Date.now().toString(36)}@example.com`;
  const status = await ownerPage.evaluate(
    ([email, password]) =>
      fetch("/v1/auth/signup", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email, password, token_transport: "cookie" }),
      }).then((response) => response.status),
    [plainEmail, PASSWORD],
  );
  assert.equal(status, 201);
  await shortLived(owner);
  // A copy, taken now and kept past its Max-Age (a session cookie in the other browser).
  const stolen = await refreshCookie(owner);
  const thief = await browser.newContext({ locale: "en-US" });
  // By URL, not domain: a __Host- cookie must be host-only, or Chromium drops it.
  const { name, value, secure, httpOnly, sameSite } = stolen;
  await thief.addCookies([{ name, value, url: server.origin, secure, httpOnly, sameSite }]);
  assert.equal((await refreshCookie(thief))?.value, value, "the copy did not land in the second context");
  await sleep((COOKIE_SECONDS + 2) * 1000);
  const thiefPage = await thief.newPage();
  assert.equal(await signedInAfterLoad(thiefPage, server.origin), false, "the copied cookie still signed in after its deadline");
  assert.equal(await refreshStatus(thiefPage), 401, "the copied cookie still refreshed after its deadline");
  // The owner's browser holds the key: its refresh is deferred behind a DBSC refresh, and goes through.
  assert.equal(await refreshStatus(ownerPage), 200, "the browser with the key could not refresh");
  console.log("ok - a copied cookie stops working once it expires; the browser with the key goes on");
  await thief.close();
  await owner.close();
} catch (error) {
  failed = true;
  console.log(
    `not ok - DBSC in Chromium\n  ${String(error?.stack ?? error)
      .split("\n")
      .join("\n  ")}`,
  );
  console.log(server.output.join("").slice(-3000));
} finally {
  await browser?.close().catch(() => {});
  await server.stop();
  rmSync(certificate.dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
