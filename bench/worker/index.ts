import { cleanupPass, queryPlans, registryFootprint } from "./storage";
import { operations, type BenchState } from "./variants";
import { setUp } from "./setup";

export { SessionRegistry } from "../../src/sessions/registry";
export { MeasuredSessionRegistry, NoopObject } from "./objects";

interface Batch {
  name: string;
  n: number;
}

/**
 * Runs batches of operations back to back and times each batch with performance.now(). In local
 * workerd the clock advances during execution but only in whole milliseconds, so the driver sizes
 * each batch to tens of milliseconds and takes per-operation cost as batch time / n.
 */
async function round(env: BenchEnv, request: Request, state: BenchState, batches: Batch[]) {
  const results: { name: string; n: number; ms: number }[] = [];
  for (const { name, n } of batches) {
    const operation = operations[name];
    if (!operation) throw new Error(`unknown variant ${name}`);
    const started = performance.now();
    for (let i = 0; i < n; i++) await operation(env, state, request);
    results.push({ name, n, ms: performance.now() - started });
  }
  return results;
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const body = request.method === "POST" ? await request.json<Record<string, unknown>>() : {};
    try {
      switch (url.pathname) {
        case "/setup":
          return Response.json(await setUp(env, request, body.migrations as string[]));
        case "/round":
          return Response.json(await round(env, request, body.state as BenchState, body.batches as Batch[]));
        case "/plans":
          return Response.json(await queryPlans(env));
        case "/cleanup":
          return Response.json(await cleanupPass(env, body.expired as number, body.batchSize as number));
        case "/footprint":
          return Response.json(await registryFootprint(env, request, body.steps as number[]));
        case "/clock":
          return Response.json({ now: performance.now() });
        default:
          return new Response("not found", { status: 404 });
      }
    } catch (error) {
      return Response.json({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, { status: 500 });
    }
  },
} satisfies ExportedHandler<BenchEnv>;
