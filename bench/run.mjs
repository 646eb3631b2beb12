// `npm run bench`: micro-benchmarks in a bench Worker, then a mixed HTTP load against the real
// service under `wrangler dev`. Starts what it needs, stops all of it, prints a table and writes
// bench/results.json. Tunables (environment): BENCH_ROUNDS, BENCH_TARGET_MS, BENCH_LOAD_SECONDS,
// BENCH_LOAD_CONNECTIONS, BENCH_LOAD_USERS, BENCH_REVOCATIONS, BENCH_PRESSURE_MS,
// BENCH_SKIP_LOAD=1.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { unstable_startWorker } from "wrangler";
import { newSecrets } from "../scripts/keys.mjs";
import { runLoad } from "./load.mjs";
import { runMicro } from "./micro.mjs";
import { report } from "./report.mjs";
import { startService } from "./service.mjs";

process.env.WRANGLER_SEND_METRICS = "false";
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const setting = (name, fallback) => Number(process.env[name] ?? fallback);
const log = (message) => console.error(`[bench] ${message}`);

/** The project's D1 migrations as single statements, in order (drizzle-kit's breakpoint marks the splits). */
function migrationStatements() {
  const dir = join(root, "migrations");
  return readdirSync(dir)
    .filter((name) => name.endsWith(".sql"))
    .sort()
    .flatMap((name) => readFileSync(join(dir, name), "utf8").split("--> statement-breakpoint"))
    .map((statement) => statement.trim())
    .filter(Boolean);
}

async function micro() {
  const persist = mkdtempSync(join(tmpdir(), "edge-sessions-bench-"));
  const secrets = newSecrets("bench");
  const worker = await unstable_startWorker({
    config: join(here, "wrangler.jsonc"),
    bindings: Object.fromEntries(Object.entries(secrets).map(([name, value]) => [name, { type: "plain_text", value }])),
    dev: { server: { hostname: "127.0.0.1", port: 0 }, inspector: false, persist, watch: false, logLevel: "warn" },
  });
  try {
    await worker.ready;
    const post = async (path, body) => {
      const response = await worker.fetch(`http://bench${path}`, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "Content-Type": "application/json" },
      });
      const json = await response.json();
      if (!response.ok) throw new Error(`${path}: ${json.error ?? response.status}`);
      return json;
    };
    log("setting up users, sessions and the Better Auth peer");
    const state = await post("/setup", { migrations: migrationStatements() });
    const { variants, pairedRatios } = await runMicro(post, state, {
      rounds: setting("BENCH_ROUNDS", 80),
      targetMs: setting("BENCH_TARGET_MS", 30),
      log,
    });
    const pressure = [];
    for (const mode of ["registry", "strict"])
      for (const callers of [1, 16, 64, 256]) {
        log(`one registry, ${mode}, ${callers} concurrent callers`);
        pressure.push(await post("/pressure", { state, mode, callers, ms: setting("BENCH_PRESSURE_MS", 3000) }));
      }
    log("query plans");
    const queryPlans = await post("/plans", {});
    const cleanup = [];
    for (const expired of [1_000, 10_000, 100_000]) {
      log(`cleanup over ${expired} expired sessions`);
      cleanup.push(await post("/cleanup", { expired }));
    }
    log("registry storage footprint");
    const footprint = await post("/footprint", { steps: [1, 10, 100, 1_000] });
    return { variants, pairedRatios, queryPlans, cleanup, footprint, pressure };
  } finally {
    await worker.dispose();
    rmSync(persist, { recursive: true, force: true });
  }
}

async function load() {
  const service = await startService(root, log);
  try {
    return await runLoad(service.url, {
      users: setting("BENCH_LOAD_USERS", 30),
      devicesPerUser: 3,
      durationSeconds: setting("BENCH_LOAD_SECONDS", 20),
      connections: setting("BENCH_LOAD_CONNECTIONS", 16),
      revocations: setting("BENCH_REVOCATIONS", 200),
      log,
    });
  } finally {
    await service.stop();
  }
}

const started = new Date();
const loadAtStart = loadavg();
const microResults = await micro();
const loadResults = process.env.BENCH_SKIP_LOAD === "1" ? null : await load();
const results = report(microResults, loadResults, {
  started: started.toISOString(),
  finished: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpu_model: cpus()[0]?.model ?? null,
  // The machine's 1/5/15-minute load averages: how much else was competing for the CPUs.
  load_average_at_start: loadAtStart.map((x) => Number(x.toFixed(2))),
  load_average_at_end: loadavg().map((x) => Number(x.toFixed(2))),
});
writeFileSync(join(here, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
log("wrote bench/results.json");
