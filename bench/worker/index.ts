import { setUp } from "./setup";
import { cleanupPass, queryPlans, registryFootprint } from "./storage";
import { type BenchState, operations, prepare } from "./variants";

export { RateLimiter } from "../../src/limiter/rate-limiter";
export { SessionRegistry } from "../../src/registry/session-registry";
export { SessionService } from "../../src/worker/rpc/session-service";
export { MeasuredSessionRegistry, NoopObject } from "./objects";

interface Batch {
  name: string;
  /** Keep running the operation until this much time has passed (at least one operation). */
  ms: number;
}

/**
 * Runs time-bounded batches back to back, each timed with performance.now(). In local workerd the
 * clock advances during execution but only in whole milliseconds, so each batch runs for tens of
 * milliseconds and the per-operation cost is the batch's time divided by its operation count.
 */
async function round(env: BenchEnv, request: Request, ctx: ExecutionContext, state: BenchState, batches: Batch[]) {
  const results: { name: string; n: number; ms: number }[] = [];
  for (const batch of batches) {
    const operation = operations[batch.name];
    if (!operation) throw new Error(`unknown variant ${batch.name}`);
    await prepare[batch.name]?.(state);
    const started = performance.now();
    let n = 0;
    let elapsed = 0;
    do {
      await operation(env, state, request, ctx);
      n++;
      elapsed = performance.now() - started;
    } while (elapsed < batch.ms);
    results.push({ name: batch.name, n, ms: elapsed });
  }
  return results;
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const body = request.method === "POST" ? await request.json<Record<string, unknown>>() : {};
    try {
      switch (url.pathname) {
        case "/setup":
          return Response.json(await setUp(env, request, body.migrations as string[]));
        case "/round":
          return Response.json(await round(env, request, ctx, body.state as BenchState, body.batches as Batch[]));
        case "/plans":
          return Response.json(await queryPlans(env));
        case "/cleanup":
          return Response.json(await cleanupPass(env, body.expired as number));
        case "/footprint":
          return Response.json(await registryFootprint(env, request, body.steps as number[]));
        default:
          return new Response("not found", { status: 404 });
      }
    } catch (error) {
      return Response.json({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, { status: 500 });
    }
  },
} satisfies ExportedHandler<BenchEnv>;
