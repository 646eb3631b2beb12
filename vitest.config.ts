import { cloudflareTest, getRunnerName, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { newAdminToken, newSecrets } from "./scripts/keys.mjs";
import { exampleConsumerWorker } from "./test/consumer/example-worker.mjs";
import { newIntrospectionClient } from "./test/support/clients.mjs";

process.env.WRANGLER_SEND_METRICS = "false";

/** Named, so the Worker under test has a known name the auxiliary Worker can bind to. */
const PROJECT = "edge-sessions";
// The plugin runs the Worker under test under a runner name of its own; bindings of the Worker to
// itself are rewritten, but an auxiliary Worker's binding must name the runner.
const workerUnderTest = getRunnerName({ name: PROJECT } as Parameters<typeof getRunnerName>[0]);

/**
 * The property tests' seed: fixed, so CI runs the same sequences every time; `FC_SEED` picks
 * another (`npm run test:property` sets it to "random", which draws a fresh one and prints it).
 */
const FIXED_FC_SEED = 20261201;
function fastCheckSeed(): number {
  const requested = process.env.FC_SEED;
  if (requested === undefined || requested === "") return FIXED_FC_SEED;
  if (requested === "random") return Math.floor(Math.random() * 2_147_483_647);
  const seed = Number(requested);
  if (!Number.isInteger(seed)) throw new Error(`FC_SEED must be an integer or "random", not ${requested}`);
  return seed;
}

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.jsonc" },
        miniflare: {
          // Fresh keys for every run: tests never depend on a committed secret.
          // ADMIN_TOKEN is not part of newSecrets: the admin API stays off in dev and production until
          // an operator sets the secret on purpose.
          bindings: {
            ...newSecrets("test"),
            ...newIntrospectionClient(),
            ADMIN_TOKEN: newAdminToken(),
            // The tests' relying party is their origin (test/support/http.ts ORIGIN), set as a deployment
            // would set it; the local default ("localhost", any port) has its own tests.
            WEBAUTHN_RP_ID: "auth.test",
            WEBAUTHN_ORIGINS: "https://auth.test",
            TEST_MIGRATIONS: migrations,
            TEST_FC_SEED: fastCheckSeed(),
          },
          serviceBindings: {
            // Test-only (declared in test/support/env.d.ts): the RPC entrypoint reached exactly as a consumer reaches it.
            SESSION_SERVICE: { name: "edge-sessions", entrypoint: "SessionService" },
            EXAMPLE_CONSUMER: "example-consumer",
          },
          workers: [await exampleConsumerWorker(workerUnderTest)],
        },
      }),
    ],
    test: {
      name: PROJECT,
      setupFiles: ["./test/support/setup.ts"],
      include: ["test/**/*.test.ts"],
      testTimeout: 30_000,
      // One access-log line per request would bury test output; test/worker/ops/logging.test.ts reads them directly.
      onConsoleLog: (log: string) => !log.includes('"msg":"request"'),
    },
  };
});
