#!/usr/bin/env node
// `npm run crash-test`: kills `wrangler dev` with SIGKILL under load, restarts it on the same state,
// and audits every answer the clients got (docs/operations.md, "Crash test"). Not in CI.
//
//   npm run crash-test                                   # 8 crashes, about 3-5 minutes
//   npm run crash-test -- --crashes 20 --seed 42 --converge-limit 60 --workers 6 --keep-state
//   npm run crash-test -- --plan passwords,passwords,revocations   # these crash kinds, in turn
//
// Exits 1 on any violation, 2 if the run itself failed (the server did not start).
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startDevServer } from "../../test/browser/server.mjs";
import { audit, convergence, findLostSignups } from "./audit.mjs";
import { Clients, random } from "./client.mjs";
import { BURST_LATENCY, BURST_NEEDS, burst, liveWatch, mixedLoad, topUp } from "./load.mjs";
import { newStats, printCrash, printSummary } from "./report.mjs";

const { values: options } = parseArgs({
  options: {
    crashes: { type: "string" },
    seed: { type: "string" },
    "converge-limit": { type: "string", default: "30" },
    workers: { type: "string", default: "6" },
    "keep-state": { type: "boolean", default: false },
    plan: { type: "string" },
  },
});
const SEED = options.seed === undefined ? randomBytes(4).readUInt32LE() : Number(options.seed);
const CONVERGE_LIMIT_MS = Number(options["converge-limit"]) * 1000;
const WORKERS = Number(options.workers);
const GRACE_MS = 10_000;
/** The crash kinds, in turn (repeated for more crashes): random moments, and amid one kind of call. */
const KINDS = ["random", "revocations", "refreshes", "passwords", "signups", "logins"];
const PLAN = options.plan?.split(",") ?? ["random", "revocations", "refreshes", "passwords", "signups", "logins", "passwords", "random"];
if (PLAN.some((kind) => !KINDS.includes(kind))) {
  console.error(`--plan takes a comma-separated list of ${KINDS.join(", ")}`);
  process.exit(2);
}
const CRASHES = Number(options.crashes ?? PLAN.length);
/**
 * How a burst picks its moment: [share "seen" (the first revocation a live channel reports), share "early"
 * (a random time before the first answer)]; the rest kill at a random answer. A password change's
 * revocation, D1 write and registry record all come after its two PBKDF2 runs, in its last part.
 */
const TRIGGER_SHARES = {
  revocations: [0.7, 0.1],
  passwords: [0.8, 0.1],
  refreshes: [0, 0.4],
  signups: [0, 0.5],
  logins: [0, 0.5],
};

process.env.WRANGLER_SEND_METRICS = "false";
const ADMIN_TOKEN = randomBytes(32).toString("base64url");
const VARS = {
  ADMIN_TOKEN,
  // Room for every device of a user (no session-limit eviction the clients were not told of), and
  // for the audit's logins with a password that must fail.
  MAX_SESSIONS: "100",
  LOGIN_ACCOUNT_FAILURE_LIMIT: "1000",
};

const state = mkdtempSync(join(tmpdir(), "edge-sessions-crash-"));
const rng = random(SEED);
const stats = newStats();
const clients = new Clients({ rng, run: SEED.toString(36), stats });
let server = null;
let crashIndex = 0;

const violation = (kind, detail) => {
  stats.violations.push({ kind, crash: crashIndex, detail });
};

/** The server being started, until it answers (a signal may come while it starts). */
let starting = null;

async function shutdown(code) {
  const current = server ?? starting;
  server = null;
  starting = null;
  await current?.stop().catch(() => {});
  if (options["keep-state"]) console.log(`State kept in ${state}`);
  else {
    try {
      rmSync(state, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    } catch (error) {
      console.error(`crash-test: could not remove the state directory ${state}: ${error.code}`);
    }
  }
  process.exit(code);
}
process.once("SIGINT", () => void shutdown(130));
process.once("SIGTERM", () => void shutdown(143));
process.once("uncaughtException", (error) => {
  console.error(error);
  void shutdown(2);
});
process.once("unhandledRejection", (error) => {
  console.error(error);
  void shutdown(2);
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (list) => (list?.length ? [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] : null);

async function start() {
  const started = Date.now();
  server = await startDevServer({
    persistTo: state,
    vars: VARS,
    onSpawn: (handle) => {
      starting = handle;
    },
  });
  starting = null;
  clients.base = server.origin;
  return Date.now() - started;
}

/** Kills now: the calls already started are cut off wherever they are. */
async function kill(record) {
  record.killedAt = Date.now();
  record.pids = (await server.crash()).length;
  server = null;
}

async function randomCrash(record) {
  const load = mixedLoad(clients, WORKERS);
  const before = stats.requests.load;
  await sleep(rng.between(1500, 6000));
  const settled = load.stop();
  await kill(record);
  await settled;
  record.requests = stats.requests.load - before;
}

/**
 * A burst of one kind of call, killed in its middle: at the k-th answer (some answered, the rest in
 * flight), or before any answer at a random fraction of that call's usual time.
 */
async function targetedCrash(kind, record) {
  const load = mixedLoad(clients, WORKERS);
  await sleep(rng.between(1000, 3000));
  await load.stop();
  await topUp(clients, BURST_NEEDS[kind]);
  const { calls, watch } = burst(clients, kind);
  // When the first answer of such a burst came last time (else a guess from single calls): calls
  // started together finish together, so just before it most are in their last steps.
  const firstAnswer = stats.firstAnswer[kind] ?? (median(stats.latency[BURST_LATENCY[kind]]) ?? 200) * 1.5;
  const before = stats.requests.load;
  let answered = 0;
  let onAnswer = () => {};
  const [seenShare, earlyShare] = TRIGGER_SHARES[kind];
  const roll = rng.next();
  const trigger = roll < seenShare && watch.length > 0 ? "seen" : roll < seenShare + earlyShare || calls.length < 2 ? "early" : "answer";
  const killAfter = 1 + rng.int(Math.max(1, calls.length - 1));
  const watcher = trigger === "seen" ? await liveWatch(clients, watch) : null;
  const started = Date.now();
  let killed = false;
  const running = calls.map((call) =>
    call().then(() => {
      answered++;
      if (answered === 1 && !killed) stats.firstAnswer[kind] = Date.now() - started;
      onAnswer();
    }),
  );
  await new Promise((resolve) => {
    if (trigger === "early") setTimeout(resolve, rng.between(kind === "passwords" ? 0.7 : 0.1, 1) * firstAnswer);
    else if (trigger === "answer") onAnswer = () => answered >= killAfter && resolve();
    // Seen part-way: or, if nothing is seen before every call is answered, at the last answer.
    else {
      watcher.seen.then(resolve);
      onAnswer = () => answered >= calls.length && resolve();
    }
  });
  watcher?.close();
  record.trigger = trigger;
  record.inFlight = calls.length - answered;
  record.burst = calls.length;
  record.afterMs = Date.now() - started;
  killed = true;
  await kill(record);
  await Promise.all(running);
  record.requests = stats.requests.load - before;
}

console.log(`crash-test: seed ${SEED}, ${CRASHES} crashes, D1 convergence limit ${CONVERGE_LIMIT_MS / 1000} s, state in a fresh directory`);
try {
  const bootMs = await start();
  console.log(`wrangler dev up in ${(bootMs / 1000).toFixed(1)} s at ${server.origin}; signing in 8 users on 3 devices each`);
  await topUp(clients, { sessions: 24, min: 3, users: 8 });
  for (crashIndex = 1; crashIndex <= CRASHES; crashIndex++) {
    const kind = PLAN[(crashIndex - 1) % PLAN.length];
    const record = { index: crashIndex, kind };
    clients.phase = "load";
    if (kind === "random") await randomCrash(record);
    else await targetedCrash(kind, record);
    stats.crashes.push(record);
    clients.phase = "audit";
    record.restartMs = await start();
    await findLostSignups(clients, ADMIN_TOKEN);
    record.converge = await convergence(clients, ADMIN_TOKEN, CONVERGE_LIMIT_MS);
    if (!record.converge.converged)
      violation(
        "d1_not_converged",
        `${record.converge.problems.length} disagreements after ${record.converge.ms} ms: ${record.converge.problems.slice(0, 4).join("; ")}`,
      );
    const before = stats.violations.length;
    await audit(clients, { adminToken: ADMIN_TOKEN, graceMs: GRACE_MS, settleMs: CONVERGE_LIMIT_MS, violation });
    record.violations = stats.violations.length - before + (record.converge.converged ? 0 : 1);
    printCrash(record, CRASHES);
  }
} catch (error) {
  console.error("crash-test: the run failed:", error?.stack ?? error);
  await shutdown(2);
}
printSummary(stats, { seed: SEED, convergeLimitMs: CONVERGE_LIMIT_MS });
await shutdown(stats.violations.length > 0 ? 1 : 0);
