/**
 * The admin dashboard's skeleton (docs/operations.md, "The admin dashboard"). Like the devices
 * page it holds no data: the script fetches it from /admin/api with the admin cookie. Whether the
 * cookie is live is decided here, so a signed-out visit makes no request that is sure to fail.
 * Everything the script writes from the data (emails, device names) goes in with textContent.
 */
export function AdminPage({ signedIn }: { signedIn: boolean }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <meta name="robots" content="noindex" />
        <title>Admin dashboard</title>
        <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/assets/devices.css" />
        <link rel="stylesheet" href="/vendor/uPlot.min.css" />
        <link rel="stylesheet" href="/assets/admin.css" />
        <script src="/vendor/uPlot.iife.min.js" defer></script>
        <script type="module" src="/assets/admin-page.js"></script>
      </head>
      <body data-signed-in={signedIn ? "true" : "false"}>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="topbar wide">
          <h1>Admin dashboard</h1>
          <div class="account" id="account" hidden={!signedIn}>
            <span id="generated" class="muted"></span>
            <button type="button" id="sign-out" class="secondary">
              Sign out
            </button>
          </div>
        </header>
        <main id="main" class="wide" tabindex={-1}>
          <div id="notice" class="notice" role="status" aria-live="polite" hidden></div>
          <noscript>
            <p class="notice">This page needs JavaScript.</p>
          </noscript>
          <SignInSection hidden={signedIn} />
          <div id="dashboard" hidden={!signedIn}>
            <UserSection />
            <TimeSection />
            <LiveSection />
            <EndingsSection />
            <AccountsSection />
            <RowsSection />
          </div>
        </main>
        <ConfirmDialog />
      </body>
    </html>
  );
}

function SignInSection({ hidden }: { hidden: boolean }) {
  return (
    <section id="sign-in" aria-labelledby="sign-in-title" hidden={hidden}>
      <h2 id="sign-in-title">Sign in</h2>
      {/* POST, so that even without its script the form never puts the token in a URL. */}
      <form id="sign-in-form" class="card" method="post" action="/admin/session" novalidate>
        <p class="muted">
          Present the service's <code>ADMIN_TOKEN</code> once. This browser then holds a signed admin cookie for 30 minutes; the token
          itself is not kept.
        </p>
        <input type="text" name="username" autocomplete="username" value="admin" hidden />
        <label for="admin-token">Admin token</label>
        <input id="admin-token" name="token" type="password" autocomplete="current-password" required />
        <p id="sign-in-error" class="error" role="alert" hidden></p>
        <div class="actions">
          <button type="submit">Sign in</button>
        </div>
      </form>
    </section>
  );
}

/**
 * One chart: a heading, the canvas uPlot draws into (hidden from assistive technology, which gets
 * the table instead), the table toggle, and the empty state.
 */
function Chart({ id, title }: { id: string; title: string }) {
  return (
    <figure class="chart card" id={id} aria-labelledby={`${id}-title`}>
      <figcaption id={`${id}-title`} class="chart-title">
        {title}
      </figcaption>
      <div class="plot" aria-hidden="true"></div>
      <p class="empty muted" hidden></p>
      <button type="button" class="link table-toggle" aria-expanded="false" aria-controls={`${id}-table`}>
        Show as a table
      </button>
      <div class="table-wrap" id={`${id}-table`} hidden></div>
    </figure>
  );
}

function TimeSection() {
  return (
    <section id="over-time" aria-labelledby="over-time-title">
      <h2 id="over-time-title">Sign-ins and findings over time</h2>
      <p class="muted">Times are in UTC. Every number in the tables opens the events behind it.</p>
      <div class="charts two">
        <Chart id="chart-hourly" title="Last 24 hours, by hour (UTC)" />
        <Chart id="chart-daily" title="Last 30 days, by day (UTC)" />
      </div>
    </section>
  );
}

function LiveSection() {
  return (
    <section id="live" aria-labelledby="live-title">
      <h2 id="live-title">
        Live sessions <span id="live-total" class="muted"></span>
      </h2>
      <div class="charts four">
        <Chart id="chart-device-type" title="By device type" />
        <Chart id="chart-browser" title="By browser" />
        <Chart id="chart-os" title="By operating system" />
        <Chart id="chart-country" title="By country" />
      </div>
    </section>
  );
}

function EndingsSection() {
  return (
    <section id="endings" aria-labelledby="endings-title">
      <h2 id="endings-title">How sessions last and end</h2>
      <div class="charts two">
        <Chart id="chart-lifetimes" title="Lifetimes of the sessions that ended" />
        <Chart id="chart-endings" title="How sessions ended" />
      </div>
    </section>
  );
}

function AccountsSection() {
  return (
    <section id="accounts" aria-labelledby="accounts-title">
      <h2 id="accounts-title">Accounts of the last 24 hours</h2>
      <div class="charts two">
        <div class="card">
          <h3 id="busiest-title">Busiest: most sign-ins</h3>
          <div id="busiest" class="table-wrap"></div>
        </div>
        <div class="card">
          <h3 id="riskiest-title">Riskiest: most findings</h3>
          <div id="riskiest" class="table-wrap"></div>
        </div>
      </div>
    </section>
  );
}

/** The rows behind a figure: the drill-down endpoints' answer, one page at a time. */
function RowsSection() {
  return (
    <section id="rows" aria-labelledby="rows-title" hidden>
      <h2 id="rows-title" tabindex={-1}>
        Rows
      </h2>
      <div id="rows-table" class="table-wrap card wide-card"></div>
      <p id="rows-error" class="error" role="alert" hidden></p>
      <div class="actions">
        <button type="button" id="rows-more" class="secondary" hidden>
          Show more
        </button>
        <button type="button" id="rows-close" class="link">
          Close
        </button>
      </div>
    </section>
  );
}

function UserSection() {
  return (
    <section id="users" aria-labelledby="users-title">
      <h2 id="users-title">Find an account</h2>
      <form id="user-search" class="card search" novalidate>
        <label for="user-query">Email or user id</label>
        <div class="inline">
          <input id="user-query" name="q" type="text" autocomplete="off" spellcheck={false} required />
          <button type="submit">Find</button>
        </div>
        <p id="user-error" class="error" role="alert" hidden></p>
      </form>
      <div id="user" class="card wide-card" hidden>
        <h3 id="user-email" tabindex={-1}>
          Account
        </h3>
        <dl id="user-facts" class="facts"></dl>
        <div class="actions">
          <button type="button" id="user-revoke-all" class="danger">
            Sign out every session
          </button>
          <button type="button" id="user-disable" class="danger">
            Disable the account
          </button>
          <button type="button" id="user-enable" class="secondary" hidden>
            Enable the account
          </button>
          <button type="button" id="user-reconcile" class="secondary">
            Reconcile
          </button>
        </div>
        <p id="user-action-error" class="error" role="alert" hidden></p>
        <h4>Live sessions</h4>
        <div id="user-live" class="table-wrap"></div>
        <h4>Recent sessions that ended</h4>
        <div id="user-ended" class="table-wrap"></div>
        <h4>Security history, newest first</h4>
        <div id="user-history" class="table-wrap"></div>
      </div>
    </section>
  );
}

/** Every action is confirmed here first: a real dialog, so the browser test drives it like a person. */
function ConfirmDialog() {
  return (
    <dialog id="confirm" aria-labelledby="confirm-title" aria-describedby="confirm-text">
      <form method="dialog" class="card">
        <h2 id="confirm-title">Confirm</h2>
        <p id="confirm-text"></p>
        <div class="actions">
          <button type="submit" value="confirm" id="confirm-yes" class="danger"></button>
          <button type="submit" value="cancel" id="confirm-no" class="secondary">
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}
