import type { D1Migration } from "cloudflare:test";
import type { PackedConsumerFacts } from "../consumer/packed-worker.mjs";

declare global {
  namespace Cloudflare {
    interface Env {
      /** Test-only: the fast-check seed (vitest.config.ts: fixed unless FC_SEED says otherwise). */
      TEST_FC_SEED: number;
      /** Test-only: the D1 migrations, read in Node by vitest.config.ts. */
      TEST_MIGRATIONS: D1Migration[];
      /** Test-only: a self service binding to the RPC entrypoint, reached exactly as a consumer reaches it. */
      SESSION_SERVICE: Service<import("../../src/index").SessionService>;
      /** Test-only: the registered introspection client, secret in clear (the service sees only its digest). */
      TEST_INTROSPECTION_CLIENT: { id: string; secret: string };
      /** Test-only: the example consumer Worker (examples/consumer), bound to SessionService. */
      EXAMPLE_CONSUMER: Fetcher;
      /** Test-only: a scratch Worker built from the packed consumer tarball, bound to SessionService. */
      PACKED_CONSUMER: Fetcher;
      /** Test-only: the packed tarball's files and the scratch project's type checks (vitest.config.ts). */
      TEST_PACKED_CONSUMER: PackedConsumerFacts;
    }
  }
}
