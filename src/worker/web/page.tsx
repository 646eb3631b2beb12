import { IconSprite } from "./icons";

/**
 * Server-rendered skeleton: every section starts hidden and the script reveals what applies.
 * Device rows come from a <template>, filled with textContent only (device names are user input).
 * One file past 300 lines on purpose: it is one HTML document, whose ids the page script and the
 * browser tests address; split, its sections would only be read back together.
 */
export function DevicesPage() {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>Your devices</title>
        <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/assets/devices.css" />
        <script type="module" src="/assets/devices-page.js"></script>
      </head>
      <body>
        <IconSprite />
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="topbar">
          <h1>Your devices</h1>
          <div class="account" id="account" hidden>
            <span id="whoami"></span>
            <button type="button" id="sign-out" class="secondary">
              Sign out
            </button>
          </div>
        </header>
        <main id="main" tabindex={-1}>
          <div id="notice" class="notice" role="status" aria-live="polite" hidden></div>
          <p id="loading" class="muted">
            Loading…
          </p>
          <noscript>
            <p class="notice">This page needs JavaScript to sign in and list your devices.</p>
          </noscript>
          <AuthSection />
          <NoticesSection />
          <DevicesSection />
          <PasskeysSection />
          <PasswordSection />
          <HistorySection />
        </main>
        <DeviceTemplate />
        <NoticeTemplate />
        <EventTemplate />
        <PasskeyTemplate />
        <StepUpDialog />
      </body>
    </html>
  );
}

function AuthSection() {
  return (
    <section id="auth" aria-labelledby="auth-title" hidden>
      <p class="lead">
        See every device signed in to your account, sign out the ones you do not use, and answer when a sign-in looks unusual.
      </p>
      <h2 id="auth-title">Sign in</h2>
      <form id="auth-form" class="card" data-mode="signin" novalidate>
        <label for="email">Email</label>
        {/* "webauthn": the browser offers passkeys in this field's autofill (conditional mediation). */}
        <input id="email" name="email" type="email" autocomplete="username webauthn" required />
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="current-password"
          minlength={8}
          required
          aria-describedby="password-rule"
        />
        {/* The rule before the first error; the script names the same minimum in its errors. */}
        <span id="password-rule" class="hint" hidden>
          At least 8 characters. A few unrelated words make a strong one.
        </span>
        <label for="device-name">
          Name this device <span class="muted">(optional)</span>
        </label>
        <input id="device-name" name="device_name" type="text" maxlength={64} autocomplete="off" />
        <p id="auth-error" class="error" role="alert" hidden></p>
        <div class="actions">
          <button type="submit" id="auth-submit">
            Sign in
          </button>
          <button type="button" id="passkey-sign-in" class="secondary" hidden>
            Sign in with a passkey
          </button>
          <button type="button" id="auth-toggle" class="link">
            Create an account instead
          </button>
        </div>
      </form>
    </section>
  );
}

/**
 * "Was this you?": one card per flagged session, on every device, until someone answers it
 * (docs/devices.md). Evidence, not a verdict: nothing was blocked, the person decides.
 */
function NoticesSection() {
  return (
    <section id="notices" aria-labelledby="notices-title" hidden>
      <h2 id="notices-title" tabindex={-1}>
        Was this you?
      </h2>
      {/* biome-ignore lint/a11y/noRedundantRoles: list-style: none makes some screen readers drop the list semantics. */}
      <ul id="notice-list" class="risk-notices" role="list"></ul>
    </section>
  );
}

/** One notice; filled with textContent only (the device name is user input). */
function NoticeTemplate() {
  return (
    <template id="notice-template">
      <li class="risk-notice">
        <svg class="notice-icon" aria-hidden="true" focusable="false">
          <use href="#icon-alert"></use>
        </svg>
        <div class="info">
          <p class="name notice-what"></p>
          <p class="meta notice-why"></p>
          <p class="meta">Nothing was blocked. If it was not you, sign it out and change your password.</p>
          <div class="actions">
            <button type="button" class="secondary notice-confirm">
              Yes, it was me
            </button>
            <button type="button" class="danger notice-report">
              No, sign it out
            </button>
          </div>
          <p class="error row-error" role="alert" hidden></p>
        </div>
      </li>
    </template>
  );
}

function DevicesSection() {
  return (
    <section id="devices" aria-labelledby="devices-title" hidden>
      <div class="section-head">
        <h2 id="devices-title" tabindex={-1}>
          Signed-in devices
        </h2>
        <span id="live-state" class="live" aria-live="polite"></span>
      </div>
      <ul id="device-list" class="devices"></ul>
      <p id="devices-error" class="error" role="alert" hidden></p>
      <button type="button" id="sign-out-others" class="danger">
        Sign out all other devices
      </button>
    </section>
  );
}

/** The account's passkeys: add (needs a recent proof), rename, remove (needs a recent proof). */
function PasskeysSection() {
  return (
    <section id="passkeys" aria-labelledby="passkeys-title" hidden>
      <h2 id="passkeys-title" tabindex={-1}>
        Passkeys
      </h2>
      <p class="muted">Sign in with your fingerprint, face or screen lock instead of the password.</p>
      <ul id="passkey-list" class="devices"></ul>
      <p id="passkeys-empty" class="muted">
        No passkeys yet.
      </p>
      <p id="passkeys-error" class="error" role="alert" hidden></p>
      <button type="button" id="add-passkey">
        Add a passkey
      </button>
    </section>
  );
}

function PasswordSection() {
  return (
    <section id="password-section" aria-labelledby="password-title" hidden>
      <h2 id="password-title">Change password</h2>
      <form id="password-form" class="card" novalidate>
        <input type="text" name="username" id="password-username" autocomplete="username" hidden />
        <label for="current-password">Current password</label>
        <input id="current-password" name="current_password" type="password" autocomplete="current-password" required />
        <label for="new-password">New password</label>
        <input
          id="new-password"
          name="new_password"
          type="password"
          autocomplete="new-password"
          minlength={8}
          required
          aria-describedby="new-password-rule"
        />
        <span id="new-password-rule" class="hint">
          At least 8 characters.
        </span>
        <label class="check">
          <input type="checkbox" name="sign_out_others" checked /> Sign out my other devices
        </label>
        <p id="password-result" role="status" hidden></p>
        <div class="actions">
          <button type="submit">Change password</button>
        </div>
      </form>
    </section>
  );
}

function HistorySection() {
  return (
    <section id="history" aria-labelledby="history-title" hidden>
      <h2 id="history-title">Security history</h2>
      {/* biome-ignore lint/a11y/noRedundantRoles: list-style: none makes some screen readers drop the list semantics. */}
      <ol id="history-list" class="history" role="list" aria-labelledby="history-title"></ol>
      <p id="history-error" class="error" role="alert" hidden></p>
      <button type="button" id="history-more" class="secondary" hidden>
        Show more
      </button>
    </section>
  );
}

function DeviceTemplate() {
  return (
    <template id="device-template">
      <li class="device">
        <svg class="icon" aria-hidden="true" focusable="false">
          <use href="#icon-other"></use>
        </svg>
        <div class="info">
          <p class="name">
            <span class="device-name"></span>{" "}
            <span class="this-device" hidden>
              This device
            </span>
          </p>
          <p class="meta platform"></p>
          <p class="meta place"></p>
          <p class="meta active"></p>
          <p class="meta binding" hidden></p>
          <p class="meta unconfirmed" hidden>
            Still signing in: its sign-in has not reached the device yet. If it never does, it ends by itself within minutes.
          </p>
          <p class="meta method"></p>
          <form class="rename" hidden>
            <label>
              <span class="visually-hidden">New name for this device</span>
              <input name="name" type="text" maxlength={64} required autocomplete="off" />
            </label>
            <button type="submit">Save</button>
            <button type="button" class="secondary cancel">
              Cancel
            </button>
          </form>
          <p class="error row-error" role="alert" hidden></p>
        </div>
        <div class="row-actions">
          <button type="button" class="secondary rename-button">
            Rename
          </button>
          <button type="button" class="danger sign-out-button">
            Sign out
          </button>
        </div>
      </li>
    </template>
  );
}

/** One passkey; filled with textContent only (its name is user input). */
function PasskeyTemplate() {
  return (
    <template id="passkey-template">
      <li class="device passkey">
        <svg class="icon" aria-hidden="true" focusable="false">
          <use href="#icon-passkey"></use>
        </svg>
        <div class="info">
          <p class="name passkey-name"></p>
          <p class="meta passkey-meta"></p>
          <p class="meta passkey-kind"></p>
          <form class="rename" hidden>
            <label>
              <span class="visually-hidden">New name for this passkey</span>
              <input name="name" type="text" maxlength={64} required autocomplete="off" />
            </label>
            <button type="submit">Save</button>
            <button type="button" class="secondary cancel">
              Cancel
            </button>
          </form>
          <p class="error row-error" role="alert" hidden></p>
        </div>
        <div class="row-actions">
          <button type="button" class="secondary passkey-rename-button">
            Rename
          </button>
          <button type="button" class="danger passkey-remove-button">
            Remove
          </button>
        </div>
      </li>
    </template>
  );
}

/**
 * "Confirm it's you": shown when the server answers step_up_required (RFC 9470). The password or a
 * passkey renews this session's proof; the action that asked is then retried.
 */
function StepUpDialog() {
  return (
    <dialog id="step-up" aria-labelledby="step-up-title">
      <form id="step-up-form" class="card" novalidate>
        <h2 id="step-up-title">Confirm it's you</h2>
        <p class="muted">This change needs a recent sign-in. Enter your password, or use a passkey.</p>
        <input type="text" name="username" id="step-up-username" autocomplete="username" hidden />
        <label for="step-up-password">Your password</label>
        <input id="step-up-password" name="password" type="password" autocomplete="current-password" />
        <p id="step-up-error" class="error" role="alert" hidden></p>
        <div class="actions">
          <button type="submit">Confirm</button>
          <button type="button" id="step-up-passkey" class="secondary" hidden>
            Use a passkey
          </button>
          <button type="button" id="step-up-cancel" class="link">
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}

/**
 * One security-history entry. The script fills it with textContent only: the device names and
 * places in an event's details are whatever the signing-in client sent.
 */
function EventTemplate() {
  return (
    <template id="event-template">
      <li class="event" tabindex={-1}>
        <svg class="icon" aria-hidden="true" focusable="false">
          <use href="#icon-event"></use>
        </svg>
        <div class="info">
          <p class="what">
            <span class="flag" hidden>
              <span class="flag-text"></span>
              <span class="visually-hidden">:</span>
            </span>{" "}
            <span class="sentence"></span>
          </p>
          <div class="facts"></div>
          <p class="meta when">
            <time></time> · <span class="exact"></span>
          </p>
        </div>
      </li>
    </template>
  );
}
