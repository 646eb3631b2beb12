#!/usr/bin/env node
// Mutation testing of the security-critical modules (`npm run mutation [group ...]`), with
// StrykerJS on the real suite: the Cloudflare vitest pool, real D1 and Durable Objects.
//
// One Stryker run per group: each group's mutants run against the test files of that group only,
// because most of the suite signs a user in and so "covers" every token module; with the whole
// suite behind each mutant a run would take hours on a small machine. Each run writes
// reports/mutation/<group>.html and .json; at the end the score of every file is printed, with
// every mutant that survived. Not part of CI: it is slow (test/README.md, "Mutation testing").
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { relative } from "node:path";

/** The tests that must catch a broken access-token check: two groups share them. */
const ACCESS_TOKEN_TESTS = [
  "test/security/token-attacks.test.ts",
  "test/worker/tokens/algorithms.test.ts",
  "test/worker/tokens/claims.test.ts",
  "test/worker/tokens/keys.test.ts",
  "test/worker/tokens/key-rotation.test.ts",
  "test/worker/rpc/entrypoint.test.ts",
  "test/worker/oauth/introspect.test.ts",
  "test/worker/auth/dpop-binding.test.ts",
  "test/worker/sessions/dpop-resource.test.ts",
  "test/worker/rpc/dpop-verify.test.ts",
  "test/registry/dpop-replay.test.ts",
  "test/worker/auth/step-up.test.ts",
  "test/worker/sessions/devices.test.ts",
  "test/worker/http/contract.test.ts",
  "test/worker/settings.test.ts",
  "test/registry/liveness/activity.test.ts",
  "test/security/faults.test.ts",
];

/** What is mutated, and the tests that must catch it. */
export const GROUPS = {
  "access-token": {
    mutate: ["src/worker/tokens/access.ts", "src/worker/sessions/guard.ts"],
    tests: ACCESS_TOKEN_TESTS,
  },
  // Apart from access-token so each finishes in a few hours (a partial run reaches files in Stryker's order).
  "token-keys": {
    mutate: ["src/worker/tokens/check.ts", "src/worker/tokens/keys.ts"],
    tests: ACCESS_TOKEN_TESTS,
  },
  "refresh-token": {
    mutate: ["src/shared/refresh-token.ts", "src/registry/rotation.ts"],
    tests: [
      "test/worker/auth/refresh.test.ts",
      "test/worker/auth/refresh-tag.test.ts",
      "test/shared/refresh-token.test.ts",
      "test/registry/rotation/rotation-decision.test.ts",
      "test/registry/rotation/refresh-windows.test.ts",
      "test/registry/rotation/refresh-limit.test.ts",
      "test/worker/auth/logout.test.ts",
      "test/worker/oauth/revoke.test.ts",
      "test/worker/oauth/token.test.ts",
      "test/worker/auth/dpop-refresh.test.ts",
      "test/worker/dbsc/conformance.test.ts",
      "test/registry/liveness/activity.test.ts",
      "test/worker/settings.test.ts",
    ],
  },
  "request-guards": {
    mutate: ["src/worker/auth/cookies.ts", "src/worker/limits/limits.ts", "src/worker/oauth/client-auth.ts"],
    tests: [
      "test/worker/auth/origin.test.ts",
      "test/worker/auth/refresh.test.ts",
      "test/worker/auth/logout.test.ts",
      "test/worker/auth/signup-login.test.ts",
      "test/worker/limits/account-lockout.test.ts",
      "test/worker/limits/address-key.test.ts",
      "test/worker/limits/ip-limit.test.ts",
      "test/worker/oauth/client-auth-limit.test.ts",
      "test/worker/oauth/client-secret-post.test.ts",
      "test/worker/oauth/introspect.test.ts",
      "test/worker/oauth/token.test.ts",
      "test/worker/oauth/revoke.test.ts",
      "test/worker/auth/password.test.ts",
      "test/security/credential-guessing.test.ts",
      // The admin dashboard's sign-in limit (admitAdminSignIn).
      "test/worker/admin/admin-cookie.test.ts",
      // The refresh cookie's name and attributes as DBSC session instructions name them.
      "test/worker/dbsc/conformance.test.ts",
      "test/worker/settings.test.ts",
      "test/security/faults.test.ts",
    ],
  },
  // The consumer's own checks, the only defence in its stateless and cached modes.
  "consumer-checks": {
    mutate: ["consumer/verify-local.ts", "consumer/require-session.ts", "consumer/token-format.ts", "consumer/liveness-cache.ts"],
    tests: [
      "test/consumer/authorization.test.ts",
      "test/consumer/dpop.test.ts",
      "test/consumer/fresh.test.ts",
      "test/consumer/jwks.test.ts",
      "test/consumer/liveness-cache.test.ts",
      "test/consumer/local-checks.test.ts",
      "test/consumer/modes.test.ts",
    ],
  },
  // Not packed-worker.test.ts (it runs the package as `npm pack` built it, before any mutant) nor
  // example-worker.test.ts (an auxiliary Worker, where no mutant is ever switched on).
  consumer: {
    mutate: [
      "consumer/*.ts",
      "!consumer/verify-local.ts",
      "!consumer/require-session.ts",
      "!consumer/token-format.ts",
      "!consumer/liveness-cache.ts",
    ],
    // consumer/ids.ts and rpc.ts are the service's too: its RPC entrypoint validates with them.
    tests: [
      "test/consumer/dpop.test.ts",
      "test/consumer/fresh.test.ts",
      "test/consumer/jwks.test.ts",
      // The attack table: the ids.ts patterns' anchors are the consumer's local checks too.
      "test/consumer/local-checks.test.ts",
      "test/consumer/modes.test.ts",
      "test/consumer/options.test.ts",
      "test/worker/rpc/entrypoint.test.ts",
    ],
  },
};

// `--summary` prints the scores of the runs already made (a run stopped part-way included) and runs nothing.
// `--only <file>[,<file>...]` narrows one group to some of its files (or Stryker's `file:10-40` ranges),
// to finish a file a stopped run did not reach; its reports are named `<group>+<file's name>`.
const args = process.argv.slice(2);
const summaryOnly = args.includes("--summary");
const onlyAt = args.indexOf("--only");
const only = onlyAt >= 0 ? args[onlyAt + 1]?.split(",").filter(Boolean) : undefined;
if (onlyAt >= 0 && !only?.length) fail("--only needs a comma-separated list of files");
const requested = args.filter((arg, i) => arg !== "--summary" && (onlyAt < 0 || (i !== onlyAt && i !== onlyAt + 1)));
for (const name of requested) if (!(name in GROUPS)) fail(`unknown group ${name}; the groups are ${Object.keys(GROUPS).join(", ")}`);
if (only && requested.length !== 1) fail("--only narrows exactly one group: name it");
const groups = requested.length ? requested : Object.keys(GROUPS);
/** The report name of a group's run: the group, or `<group>+<file>` for a run narrowed by --only. */
const reportName = (name) =>
  only ? `${name}+${only.map((file) => file.replace(/^.*\//, "").replace(/\.ts(:.*)?$/, "")).join("+")}` : name;
const timings = {};
if (summaryOnly) {
  summarise(groups);
  process.exit(0);
}

for (const name of groups) {
  const { tests } = GROUPS[name];
  const mutate = only ?? GROUPS[name].mutate;
  // A listed test file that does not exist would silently run nothing for it.
  for (const file of tests) if (!file.includes("*") && !existsSync(file)) fail(`${name}: no test file ${file}`);
  console.log(`\n== mutation group ${name}: ${mutate.join(", ")}`);
  const started = Date.now();
  const run = spawnSync("stryker", ["run", "stryker.config.mjs"], {
    stdio: "inherit",
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      MUTATION_GROUP: reportName(name),
      MUTATION_FILES: mutate.join(","),
      MUTATION_TESTS: tests.join(","),
    },
  });
  timings[name] = Math.round((Date.now() - started) / 1000);
  if (run.status !== 0) fail(`${name}: stryker exited with ${run.status ?? run.signal}`);
}

summarise(groups);

/** The score of each file (Stryker's: detected / valid mutants), its totals, and every survivor. */
function summarise(names) {
  const rows = [];
  const survivors = [];
  for (const name of names) {
    for (const [file, mutants] of Object.entries(mutantsByFile(name))) {
      const count = (status) => mutants.filter((m) => m.status === status).length;
      const detected = count("Killed") + count("Timeout");
      const undetected = count("Survived") + count("NoCoverage");
      rows.push({ group: name, file, mutants: mutants.length, detected, undetected, score: score(detected, undetected) });
      for (const m of mutants)
        if (m.status === "Survived" || m.status === "NoCoverage")
          survivors.push(
            `${file}:${m.location.start.line}:${m.location.start.column} ${m.mutatorName} ${m.status}: ${oneLine(m.replacement)}`,
          );
    }
  }
  console.log("\n== mutation score per file (killed or timed out / valid mutants)");
  for (const row of rows)
    console.log(
      `${row.score.padStart(7)}  ${String(row.detected).padStart(4)}/${String(row.detected + row.undetected).padEnd(4)} ${row.file}`,
    );
  const detected = rows.reduce((sum, row) => sum + row.detected, 0);
  const undetected = rows.reduce((sum, row) => sum + row.undetected, 0);
  console.log(`${score(detected, undetected).padStart(7)}  ${detected}/${detected + undetected} in all`);
  for (const [name, seconds] of Object.entries(timings)) console.log(`group ${name}: ${seconds} s`);
  console.log(`\n== ${survivors.length} undetected mutants (each is listed in test/README.md with its reason)`);
  for (const line of survivors) console.log(line);
}

/**
 * The mutants of a group by file: from Stryker's JSON report of a finished run, else from the
 * results scripts/stryker-progress-reporter.mjs appended as each mutant was tested (a run stopped
 * part-way: its files are marked "partial").
 */
function mutantsByFile(name) {
  const json = `reports/mutation/${reportName(name)}.json`;
  if (existsSync(json))
    return Object.fromEntries(Object.entries(JSON.parse(readFileSync(json, "utf8")).files).map(([file, { mutants }]) => [file, mutants]));
  const lines = `reports/mutation/${reportName(name)}.jsonl`;
  if (!existsSync(lines)) return {};
  const byFile = {};
  for (const line of readFileSync(lines, "utf8").split("\n").filter(Boolean)) {
    const mutant = JSON.parse(line);
    (byFile[`${relative(process.cwd(), mutant.fileName)} (partial)`] ??= []).push(mutant);
  }
  return byFile;
}

function score(detected, undetected) {
  const total = detected + undetected;
  return total === 0 ? "n/a" : `${((100 * detected) / total).toFixed(2)}%`;
}

function oneLine(text = "") {
  const flat = text.replace(/\s+/g, " ");
  return flat.length > 100 ? `${flat.slice(0, 100)}…` : flat;
}

function fail(message) {
  console.error(`mutation: ${message}`);
  process.exit(1);
}
