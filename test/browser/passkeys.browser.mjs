// Browser test of passkeys on the devices page: Debian's Chromium with a virtual authenticator (the
// DevTools protocol's WebAuthn domain, through playwright-core) against `wrangler dev`.
// Run: `npm run test:browser` (with devices.browser.mjs). Takes about a minute: one step waits for
// a sign-in to age past STEP_UP_MAX_AGE_SECONDS, set to its minimum (30) for this server.
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { startDevServer } from "./server.mjs";

const PASSWORD = "correct horse battery staple";
const STEP_UP_MAX_AGE_SECONDS = 30;
const LAPTOP = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/**
 * A virtual authenticator belongs to one page (one CDP target), not to a context. A platform
 * authenticator with resident keys and user verification, like a phone or laptop unlock.
 */
async function addAuthenticator(page, options = {}) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      ctap2Version: "ctap2_1",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
      ...options,
    },
  });
  return { cdp, authenticatorId };
}

/** Read right before copying: a stale copy has a lower signature counter, which the service treats as a cloned key. */
async function credentialsOf({ cdp, authenticatorId }) {
  return (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials;
}

async function openPage(browser, origin, { beforeLoad } = {}) {
  const context = await browser.newContext({ userAgent: LAPTOP, locale: "en-US", viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const cspViolations = [];
  page.on("console", (message) => /Content Security Policy/i.test(message.text()) && cspViolations.push(message.text()));
  // Refusals go to stderr as they happen, with their problem code: a step that fails says why.
  page.on("response", async (response) => {
    if (response.status() < 400) return;
    const code = await response.json().then(
      (body) => body?.code ?? body?.error,
      () => "",
    );
    process.stderr.write(`#   ${response.request().method()} ${new URL(response.url()).pathname} ${response.status()} ${code ?? ""}\n`);
  });
  const authenticator = beforeLoad ? await beforeLoad(page) : null;
  await page.goto(origin);
  return { context, page, authenticator, cspViolations };
}

const passkeyRows = (page) => page.locator("#passkey-list > li.passkey");
const currentMethod = (page) => page.locator("li.device.current .method").textContent();

// The whole run's bound: the server's start (up to 2 minutes on a loaded machine), the 30-second
// wait for the sign-in to age, and every step's own allowance, with room to spare.
const OVERALL_TIMEOUT_MS = 6 * 60_000;

let server;
let browser;
let stopping = null;
/** Ends Chromium and wrangler dev (its whole process group) once; each part bounded, so it cannot hang. */
function stopAll() {
  stopping ??= (async () => {
    const bounded = (promise, ms) => Promise.race([promise.catch(() => {}), new Promise((resolve) => setTimeout(resolve, ms))]);
    await bounded(browser?.close() ?? Promise.resolve(), 10_000);
    await bounded(server?.stop() ?? Promise.resolve(), 10_000);
  })();
  return stopping;
}
let bailed = false;
async function bail(message, code = 1) {
  if (bailed) return;
  bailed = true;
  console.log(`not ok - passkeys on the devices page\n  ${message}`);
  await stopAll();
  process.exit(code);
}
// Without these a SIGTERM left node waiting on wrangler's pipes forever (playwright-core's handler
// closed Chromium and nothing else). SIGHUP too: a closed terminal must not leave wrangler dev behind.
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

let failed = false;
try {
  server = await step("wrangler dev answers /healthz", 150_000, () => startDevServer({ vars: { STEP_UP_MAX_AGE_SECONDS } }));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
    // The handlers above close Chromium and wrangler dev: playwright's own exit(130) on SIGINT
    // would leave wrangler dev running, and its SIGTERM handler would close Chromium under a step.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  const email = `browser-passkey-${Date.now().toString(36)}@example.com`;

  // 1. A person signs up with a password and adds a passkey; the sign-up is recent, so no prompt.
  const first = await step("1. signs up with a password and adds a passkey", 90_000, async () => {
    const first = await openPage(browser, server.origin, { beforeLoad: (page) => addAuthenticator(page) });
    await first.page.getByRole("button", { name: "Create an account instead" }).click();
    await first.page.getByLabel("Email").fill(email);
    await first.page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await first.page.locator("#auth-submit").click();
    await first.page.locator("#passkeys").waitFor();
    assert.equal(await first.page.locator("#passkeys-empty").isVisible(), true);
    await first.page.getByRole("button", { name: "Add a passkey" }).click();
    await passkeyRows(first.page).first().waitFor({ timeout: 10_000 });
    assert.match(String(await passkeyRows(first.page).first().locator(".passkey-meta").textContent()), /Not used yet/);
    assert.equal(await first.page.locator("#step-up").isVisible(), false, "no re-verification right after signing up");
    assert.equal(await currentMethod(first.page), "Signed in with a password");
    return first;
  });

  // 2. Signs out. Presence off first: with it on, the virtual authenticator would answer the sign-in
  //    form's autofill request by itself and sign straight back in, which no person's browser does.
  const credential = await step("2. signs out", 60_000, async () => {
    await first.authenticator.cdp.send("WebAuthn.setAutomaticPresenceSimulation", {
      authenticatorId: first.authenticator.authenticatorId,
      enabled: false,
    });
    await first.page.locator("#sign-out").click();
    await first.page.locator("#auth-form").waitFor();
    const [credential] = await credentialsOf(first.authenticator);
    assert.equal(credential.isResidentCredential, true);
    return credential;
  });

  // 3. In a new browser context holding the same passkey, the sign-in form's autofill (conditional
  //    mediation on the email field) signs the person in, no email typed.
  const second = await step("3. passkey autofill signs in a new context", 60_000, async () => {
    const second = await openPage(browser, server.origin, {
      beforeLoad: async (page) => {
        const authenticator = await addAuthenticator(page);
        await authenticator.cdp.send("WebAuthn.addCredential", { authenticatorId: authenticator.authenticatorId, credential });
        return authenticator;
      },
    });
    assert.equal(await second.page.locator("#email").getAttribute("autocomplete"), "username webauthn");
    await second.page.locator("#whoami", { hasText: email }).waitFor({ timeout: 10_000 });
    assert.equal(await currentMethod(second.page), "Signed in with a passkey");
    await second.page.locator("#history-list > li.event", { hasText: "Signed in with a passkey" }).waitFor({ timeout: 5000 });
    return second;
  });
  const signedInAt = Date.now();

  // 4. Adding a second passkey once the sign-in is older than STEP_UP_MAX_AGE_SECONDS: the page
  //    asks to confirm, the person re-verifies with the first passkey, and the passkey is added in
  //    the same session. The retried options request is held while the first authenticator is
  //    swapped for a security key: an authenticator that holds the account's passkey refuses to
  //    make a second one (excludeCredentials), as a real one would.
  await step(`4a. the sign-in ages past ${STEP_UP_MAX_AGE_SECONDS} s`, (STEP_UP_MAX_AGE_SECONDS + 10) * 1000, () =>
    second.page.waitForTimeout(Math.max(0, signedInAt + (STEP_UP_MAX_AGE_SECONDS + 2) * 1000 - Date.now())),
  );
  let optionsRequests = 0;
  let release = () => {};
  const released = new Promise((resolve) => (release = resolve));
  let heldRetry = () => {};
  const retryHeld = new Promise((resolve) => (heldRetry = resolve));
  await second.page.route(
    (url) => url.pathname === "/v1/passkeys/registration/options",
    async (route) => {
      if (++optionsRequests === 2) {
        heldRetry();
        // Bounded: a test that fails before releasing must not leave the request, and node, waiting.
        await Promise.race([released, new Promise((resolve) => setTimeout(resolve, 30_000))]);
      }
      await route.continue().catch(() => {});
    },
  );
  const dialog = second.page.getByRole("dialog", { name: "Confirm it's you" });
  await step("4b. adding a passkey asks to confirm", 30_000, async () => {
    await second.page.getByRole("button", { name: "Add a passkey" }).click();
    await dialog.waitFor({ timeout: 5000 });
  });
  await step("4c. re-verifying with the passkey retries the options request", 30_000, async () => {
    await dialog.getByRole("button", { name: "Use a passkey" }).click();
    await retryHeld;
  });
  const afterStepUp = await step("4d. the second passkey is added in the same session", 60_000, async () => {
    const [afterStepUp] = await credentialsOf(second.authenticator);
    await second.authenticator.cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId: second.authenticator.authenticatorId });
    await addAuthenticator(second.page, { transport: "usb" });
    release();
    await second.page.waitForFunction(() => document.querySelectorAll("#passkey-list > li.passkey").length === 2, undefined, {
      timeout: 10_000,
    });
    assert.equal(await dialog.isVisible(), false);
    assert.equal(optionsRequests, 2, "the refused request, then the retry after re-verifying");
    // Still the one session, still signed in with a passkey: re-verifying did not start a new one.
    assert.equal(await second.page.locator("#device-list > li.device").count(), 1);
    assert.equal(await currentMethod(second.page), "Signed in with a passkey");
    await second.page.waitForFunction(
      () => [...document.querySelectorAll("#history-list .sentence")].filter((s) => s.textContent === "Passkey added").length === 2,
      undefined,
      { timeout: 5000 },
    );
    return afterStepUp;
  });

  // 5. A browser without passkey autofill still has the button.
  const third = await step("5. the passkey button signs in without autofill", 60_000, async () => {
    const third = await openPage(browser, server.origin, {
      beforeLoad: async (page) => {
        await page.addInitScript(() => {
          PublicKeyCredential.isConditionalMediationAvailable = async () => false;
        });
        const authenticator = await addAuthenticator(page);
        await authenticator.cdp.send("WebAuthn.addCredential", { authenticatorId: authenticator.authenticatorId, credential: afterStepUp });
        return authenticator;
      },
    });
    await third.page.locator("#auth-form").waitFor();
    await third.page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await third.page.locator("#devices").waitFor({ timeout: 10_000 });
    assert.equal(await currentMethod(third.page), "Signed in with a passkey");
    return third;
  });

  // 6. A passkey renamed on one device is renamed at once on every other open one (the live
  //    channel's passkeys_changed), without a reload.
  await second.page.locator("#live-state", { hasText: "Live" }).waitFor();
  await second.page.evaluate(() => (window.notReloaded = true));
  const renamedRow = passkeyRows(third.page).first();
  await renamedRow.getByRole("button", { name: /^Rename / }).click();
  const nameField = renamedRow.getByLabel("New name for this passkey");
  await nameField.fill("Desk drawer key");
  await nameField.press("Enter");
  await second.page.locator("#passkey-list .passkey-name", { hasText: "Desk drawer key" }).waitFor({ timeout: 3000 });
  assert.equal(await second.page.evaluate(() => window.notReloaded), true);

  for (const device of [first, second, third]) {
    assert.deepEqual(device.cspViolations, []);
    assert.deepEqual(await device.page.evaluate(() => [localStorage.length, sessionStorage.length]), [0, 0]);
    await device.context.close();
  }
  console.log("ok - a person registers a passkey, signs out, signs in with it in a new context, and re-verifies with it to add a second");
} catch (error) {
  failed = true;
  // Once a signal or the overall bound is stopping the run, what fails after it is its echo.
  if (bailed) await new Promise(() => {});
  console.log(
    `not ok - passkeys on the devices page\n  ${String(error?.stack ?? error)
      .split("\n")
      .join("\n  ")}`,
  );
} finally {
  clearTimeout(overall);
  await stopAll();
}
if (failed && server) console.log(server.output.join("").slice(-3000));
process.exit(failed ? 1 : 0);
