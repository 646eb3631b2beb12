import { app } from "./app";
import { runCleanup } from "./ops/cleanup";

export { SessionRegistry } from "./sessions/registry";
export { SessionService } from "./rpc/session-service";
export type { SessionServiceBinding, SessionServiceRpc } from "../consumer/rpc";
export { RateLimiter } from "./limits/rate-limiter";

export default {
  fetch: app.fetch,
  // Cron Trigger (wrangler.jsonc `triggers.crons`): bounded D1 cleanup, see ops/cleanup.ts.
  async scheduled(controller, env) {
    await runCleanup(env, controller.scheduledTime);
  },
} satisfies ExportedHandler<Env>;
