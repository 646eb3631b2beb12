import { app } from "./worker/app";
import { toApiError } from "./worker/errors";
import { runCleanup } from "./worker/ops/cleanup";

export type { SessionServiceBinding, SessionServiceRpc } from "../consumer/rpc";
export { RateLimiter } from "./limiter/rate-limiter";
export { SessionRegistry } from "./registry/session-registry";
export { LiveTokenCheck } from "./worker/live/token-check";
export { SessionService } from "./worker/rpc/session-service";

export default {
  fetch: app.fetch,
  // Cron Trigger (wrangler.jsonc `triggers.crons`): bounded D1 cleanup, see ops/cleanup.ts.
  async scheduled(controller, env) {
    try {
      await runCleanup(env, controller.scheduledTime);
    } catch (error) {
      // The same log line a request would give (a bad setting is named, never shown), then the run fails.
      toApiError(error);
      throw error;
    }
  },
} satisfies ExportedHandler<Env>;
