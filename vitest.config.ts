import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { newAdminToken, newSecrets } from "./scripts/keys.mjs";

process.env.WRANGLER_SEND_METRICS = "false";

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
          bindings: { ...newSecrets("test"), ADMIN_TOKEN: newAdminToken(), TEST_MIGRATIONS: migrations },
        },
      }),
    ],
    test: {
      setupFiles: ["./test/setup.ts"],
      include: ["test/**/*.test.ts"],
      testTimeout: 30_000,
      // One access-log line per request would bury test output; test/ops/logging.test.ts reads them directly.
      onConsoleLog: (log: string) => !log.includes('"msg":"request"'),
    },
  };
});
