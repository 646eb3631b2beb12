// Starts `npm run dev` on a free port for the browser tests, and always stops it again.
import { spawn } from "node:child_process";
import { request } from "node:https";
import { freePort } from "../../scripts/free-port.mjs";

/**
 * Resolves once /healthz answers; `stop()` ends wrangler and everything it started. `vars`
 * overrides wrangler.jsonc vars for this server only (`wrangler dev --var NAME:value`). `https`
 * (`{ key, cert }`: PEM file paths, and `certPem`, the certificate to trust) serves HTTPS with that
 * certificate (`--local-protocol https`): DBSC registers only over HTTPS. `persistTo` keeps this
 * server's D1 and Durable Objects in that directory (`--persist-to`), for a test that must start
 * from nothing (the admin dashboard's counts).
 */
export async function startDevServer({ timeoutMs = 120_000, vars = {}, https = null, persistTo = null } = {}) {
  const port = await freePort();
  // localhost, not 127.0.0.1: Chromium treats http://localhost as a secure context, which the
  // `Secure` + `__Host-` refresh cookie needs.
  const origin = `${https ? "https" : "http"}://localhost:${port}`;
  // On 127.0.0.1 (Chromium maps localhost there): Node may resolve localhost to ::1 first.
  const httpsArgs = https
    ? ["--ip", "127.0.0.1", "--local-protocol", "https", "--https-key-path", https.key, "--https-cert-path", https.cert]
    : [];
  const output = [];
  // Its own process group, so stopping reaches npm, wrangler and workerd alike.
  const varArgs = Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
  const persistArgs = persistTo ? ["--persist-to", persistTo] : [];
  const child = spawn("npm", ["run", "dev", "--", "--port", String(port), ...httpsArgs, ...varArgs, ...persistArgs], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  child.stdout.on("data", (chunk) => output.push(String(chunk)));
  child.stderr.on("data", (chunk) => output.push(String(chunk)));
  const exited = new Promise((resolve) => child.once("exit", resolve));

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    }, 5000);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      if (https ? await healthyOverHttps(`https://127.0.0.1:${port}/healthz`, https.certPem) : (await fetch(`${origin}/healthz`)).ok)
        return { origin, stop, output };
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await stop();
  throw new Error(`wrangler dev did not become healthy:\n${output.join("").slice(-4000)}`);
}

/** GET over HTTPS trusting only `ca` (the test's own certificate): Node's fetch takes no CA per request. */
function healthyOverHttps(url, ca) {
  return new Promise((resolve) => {
    const req = request(url, { ca }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.end();
  });
}
