import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      /** Test-only: the D1 migrations, read in Node by vitest.config.ts. */
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}
