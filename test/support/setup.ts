import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll } from "vitest";
import { received } from "./openapi";

// Migrations are read in Node by vitest.config.ts and applied to the test D1 here, the same files
// `wrangler d1 migrations apply` uses.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

// This file's documented responses, handed to the coverage reporter in Node: task meta crosses the
// pool's RPC. Vitest requires the first argument (the fixtures) to be a destructuring pattern.
// biome-ignore lint/correctness/noEmptyPattern: vitest 5 reads the fixtures from this pattern and refuses any other form
afterAll(({}, suite) => {
  (suite as unknown as { meta: Record<string, unknown> }).meta.openApiReceived = [...received];
});
