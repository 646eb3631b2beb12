// Starts `npm run dev` on a free port for the browser tests (and the contract and crash checks), and
// always stops it again.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { request } from "node:https";
import { freePort } from "../../scripts/free-port.mjs";

/**
 * Resolves once /healthz answers; `stop()` ends wrangler and everything it started. `vars`
 * overrides wrangler.jsonc vars for this server only (`wrangler dev --var NAME:value`). `https`
 * (`{ key, cert }`: PEM file paths, and `certPem`, the certificate to trust) serves HTTPS with that
 * certificate (`--local-protocol https`): DBSC registers only over HTTPS.
 *
 * `persistTo` keeps the local state (D1, Durable Objects) in a directory of the caller's
 * (`--persist-to`; scripts/dev.mjs migrates D1 there first), so a later server can start on it.
 * `crash()` kills wrangler and every process under it with SIGKILL at once, as a machine crash
 * would, and resolves with the ids it killed; `pid` is the process this call spawned.
 * `onSpawn({ stop })` is called as soon as wrangler is spawned, so a caller interrupted while the
 * server is still starting can stop it too.
 */
export async function startDevServer({ timeoutMs = 120_000, vars = {}, https = null, persistTo = null, onSpawn = null } = {}) {
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
    // Taken first: once wrangler is gone its children have another parent.
    const tree = descendantsOf(child.pid);
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
    // A child that left the process group (none does today) is ended by its id.
    for (const pid of tree) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    await gone(tree);
  };

  const crash = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return [];
    // The tree under the process spawned here, found by parent ids (never by name: other
    // engineers' wrangler and workerd run on this machine too); the deepest (workerd) first.
    const pids = [child.pid, ...descendantsOf(child.pid)].reverse();
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    // Anything forked in between is still in this process group (spawned detached above).
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
    await exited;
    // A killed workerd may hold its SQLite files for a moment: the next server must not share them.
    await gone(pids);
    return pids;
  };

  onSpawn?.({ stop });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      if (https ? await healthyOverHttps(`https://127.0.0.1:${port}/healthz`, https.certPem) : (await fetch(`${origin}/healthz`)).ok)
        return { origin, stop, crash, pid: child.pid, output };
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

/** Every live process under `root`, breadth first, from /proc (Linux); zombies are left out. */
export function descendantsOf(root) {
  const children = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue; // ended while we looked
    }
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ")".
    const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (state === "Z") continue;
    const list = children.get(Number(ppid)) ?? [];
    list.push(Number(name));
    children.set(Number(ppid), list);
  }
  const found = [];
  for (let queue = [root]; queue.length > 0; ) {
    const next = children.get(queue.shift()) ?? [];
    found.push(...next);
    queue.push(...next);
  }
  return found;
}

/** Resolves once none of `pids` runs any more (gone, or a zombie), or after 10 s. */
async function gone(pids) {
  const deadline = Date.now() + 10_000;
  const running = (pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
    } catch {
      return false;
    }
  };
  while (pids.some(running) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}
