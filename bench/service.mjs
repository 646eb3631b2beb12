// Starts the real service under `wrangler dev` on a free localhost port, with fresh secrets and a
// throw-away state directory (D1 migrated first), and stops it again: nothing is left behind.
// The service's own wrangler.jsonc, with the load test's entry (bench/load-worker/index.ts): the
// service's Worker plus the storage counters.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../scripts/free-port.mjs";
import { newSecrets } from "../scripts/keys.mjs";

export async function startService(root, log) {
  const state = mkdtempSync(join(tmpdir(), "edge-sessions-load-"));
  const envFile = join(state, ".dev.vars");
  writeFileSync(
    envFile,
    Object.entries(newSecrets("load"))
      .map(([name, value]) => `${name}='${value}'`)
      .join("\n") + "\n",
  );
  const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };
  const migrated = spawnSync(process.execPath, [wrangler, "d1", "migrations", "apply", "DB", "--local", "--persist-to", state], {
    cwd: root,
    env,
    input: "y\n",
    encoding: "utf8",
  });
  if (migrated.status !== 0) throw new Error(`migrations failed: ${migrated.stderr || migrated.stdout}`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    [
      wrangler,
      "dev",
      join(root, "bench", "load-worker", "index.ts"),
      // Named, or wrangler would take the bench Worker's config, the one nearest the entry.
      "--config",
      join(root, "wrangler.jsonc"),
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--persist-to",
      state,
      "--env-file",
      envFile,
      "--show-interactive-dev-session=false",
      "--log-level",
      process.env.BENCH_SERVICE_LOG_LEVEL ?? "warn",
      // Every simulated user connects from 127.0.0.1, so the per-address sign-in and signup limits
      // are raised; every other setting is the service's own.
      "--var",
      "LOGIN_IP_LIMIT:100000",
      "--var",
      "SIGNUP_IP_LIMIT:100000",
    ],
    // Its own process group, so stopping it also stops the workerd it starts.
    { cwd: root, env, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  let stderr = "";
  // The service's log lines go to stdout: the tail of both is kept for a failure's message.
  child.stderr.on("data", (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  child.stdout.on("data", (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise((resolve) => child.once("exit", resolve));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
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
    }
    rmSync(state, { recursive: true, force: true });
  };

  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) break;
    } catch {}
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not start: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  log(`service up at ${url}`);
  return { url, stop, stderr: () => stderr };
}
