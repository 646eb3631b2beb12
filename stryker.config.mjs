// @ts-check
/**
 * StrykerJS on the real suite (the Cloudflare vitest pool). Run it with `npm run mutation`:
 * scripts/mutation.mjs runs Stryker once per module group, setting MUTATION_GROUP, MUTATION_FILES
 * (what is mutated) and MUTATION_TESTS (the test files that run, read by vitest.mutation.config.ts).
 */
const group = process.env.MUTATION_GROUP;
const files = process.env.MUTATION_FILES?.split(",").filter(Boolean);
if (!group || !files?.length) throw new Error("MUTATION_GROUP and MUTATION_FILES are not set: run `npm run mutation`");

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  plugins: ["@stryker-mutator/vitest-runner", "./scripts/stryker-progress-reporter.mjs"],
  vitest: { configFile: "vitest.mutation.config.ts", related: false },
  mutate: files,
  coverageAnalysis: "perTest",
  // Two cores: one runner, one workerd.
  concurrency: 1,
  timeoutMS: 60_000,
  // The first run (every test of the group, with per-test coverage) takes minutes on a shared
  // machine; Stryker's default of 5 gave up on the request-guards group.
  dryRunTimeoutMinutes: 30,
  // TypeScript 7 has no JS API (`typescript` exports only its version), so Stryker's tsconfig
  // rewriting fails; this tsconfig has no `extends` or `references` for it to rewrite anyway.
  // A path that does not exist turns the rewriting off.
  tsconfigFile: "tsconfig.stryker-skip.json",
  reporters: ["clear-text", "progress", "html", "json", "progress-jsonl"],
  htmlReporter: { fileName: `reports/mutation/${group}.html` },
  jsonReporter: { fileName: `reports/mutation/${group}.json` },
  clearTextReporter: { allowColor: false, logTests: false },
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
  // docs/openapi.json stays: the suite holds every response to it.
  ignorePatterns: [".wrangler", "docs/*", "!docs/openapi.json", "bench"],
};
