// Bundles examples/consumer for the test run: auxiliary Workers get no build step from the plugin.
import { build } from "esbuild";

export async function exampleConsumerWorker(sessionServiceWorkerName) {
  const bundle = await build({
    entryPoints: ["examples/consumer/src/index.ts"],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*"],
    // As examples/consumer/wrangler.jsonc: the package from its source, never a stale dist/.
    alias: { "@edge-sessions/consumer": "./consumer/index.ts" },
    write: false,
  });
  return {
    name: "example-consumer",
    modules: [{ type: "ESModule", path: "index.mjs", contents: bundle.outputFiles[0].text }],
    compatibilityDate: "2026-11-01",
    serviceBindings: { SESSIONS: { name: sessionServiceWorkerName, entrypoint: "SessionService" } },
  };
}
