// Starts `npm run dev` on a free port for the browser tests, and always stops it again.
import { spawn } from "node:child_process";
import { freePort } from "../../scripts/free-port.mjs";

/**
 * Resolves once /healthz answers; `stop()` ends wrangler and everything it started. `vars`
 * overrides wrangler.jsonc vars for this server only (`wrangler dev --var NAME:value`).
 */
export async function startDevServer({ timeoutMs = 120_000, vars = {} } = {}) {
  const port = await freePort();
  // localhost, not 127.0.0.1: Chromium treats http://localhost as a secure context, which the
  // `Secure` + `__Host-` refresh cookie needs.
  const origin = `http://localhost:${port}`;
  const output = [];
  // Its own process group, so stopping reaches npm, wrangler and workerd alike.
  const varArgs = Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
  const child = spawn("npm", ["run", "dev", "--", "--port", String(port), ...varArgs], {
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
      if ((await fetch(`${origin}/healthz`)).ok) return { origin, stop, output };
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await stop();
  throw new Error(`wrangler dev did not become healthy:\n${output.join("").slice(-4000)}`);
}
