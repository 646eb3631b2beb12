import { cloudflareTest, getRunnerName, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { newAdminToken, newSecrets } from "./scripts/keys.mjs";
import { exampleConsumerWorker } from "./test/consumer/example-worker.mjs";
import { packedConsumerWorker } from "./test/consumer/packed-worker.mjs";
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
  if (requested === "random") {
    // Printed here too: the test prints its seed only when it fails (silent: "passed-only" below).
    const seed = Math.floor(Math.random() * 2_147_483_647);
    console.log(`invariants: fast-check seed ${seed}`);
    return seed;
  }
  const seed = Number(requested);
  if (!Number.isInteger(seed)) throw new Error(`FC_SEED must be an integer or "random", not ${requested}`);
  return seed;
}

export default defineConfig(async () => {
  const [migrations, exampleConsumer, packedConsumer] = await Promise.all([
    readD1Migrations("./migrations"),
    exampleConsumerWorker(workerUnderTest),
    // Packed, installed and bundled afresh on every run (a few seconds): a stale build cannot pass.
    packedConsumerWorker(workerUnderTest),
  ]);
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
            TEST_PACKED_CONSUMER: packedConsumer.facts,
          },
          serviceBindings: {
            // Test-only (declared in test/support/env.d.ts): the RPC entrypoint reached exactly as a consumer reaches it.
            SESSION_SERVICE: { name: "edge-sessions", entrypoint: "SessionService" },
            EXAMPLE_CONSUMER: "example-consumer",
            PACKED_CONSUMER: "packed-consumer",
          },
          workers: [exampleConsumer, packedConsumer.worker],
        },
      }),
    ],
    test: {
      name: PROJECT,
      setupFiles: ["./test/support/setup.ts"],
      include: ["test/**/*.test.ts"],
      testTimeout: 30_000,
      // Chosen, not defaulted (so vitest stops hinting at isolate: false): every file starts with
      // fresh module state (the consumer's JWKS and liveness caches, spies, stubbed globals).
      isolate: true,
      // The service's log lines (audit lines, and the errors the fault tests provoke on purpose) are
      // printed for a failing test only, where they explain the failure; a passing run stays quiet.
      silent: "passed-only" as const,
      // The default output, then how much of docs/openapi.json the suite received.
      reporters: ["default", "./test/support/openapi-coverage.mjs"],
      // One access-log line per request would bury even a failure's output; test/worker/ops/logging.test.ts reads them directly.
      onConsoleLog: (log: string) => !log.includes('"msg":"request"'),
    },
  };
});
