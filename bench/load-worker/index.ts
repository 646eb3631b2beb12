// The load test's entry: the service's own Worker (src/index.ts) under the service's own
// wrangler.jsonc, with D1 and each registry's SQLite counted (counting.ts), plus two bench-only
// paths to read and reset the counters. `wrangler dev bench/load-worker/index.ts` runs it; the
// service's Worker never ships it.
import service from "../../src/index";
import { SessionRegistry as ServiceRegistry } from "../../src/registry/session-registry";
import { countedD1, countSql, currentScope, inScope, OBJECT_START, reset, snapshot, tally } from "./counting";

export { LiveTokenCheck, RateLimiter, SessionService } from "../../src/index";

/** One counted env per isolate env: configFrom caches by the env object, as it does in service. */
const countedEnvs = new WeakMap<Env, Env>();
function counted(env: Env): Env {
  let wrapped = countedEnvs.get(env);
  if (!wrapped) countedEnvs.set(env, (wrapped = { ...env, DB: countedD1(env.DB) }));
  return wrapped;
}

/** The request kind a path counts under: ids and the like replaced by their route's parameter. */
export function kindOf(request: Request): string {
  const path = new URL(request.url).pathname.replace(/\/v1\/sessions\/(?!live$)[^/]+/, "/v1/sessions/:id");
  return `${request.method} ${path}`;
}

export class SessionRegistry extends ServiceRegistry {
  constructor(ctx: DurableObjectState, env: Env) {
    countSql(ctx);
    tally(OBJECT_START).calls++;
    super(ctx, counted(env));
  }
}

// Every method of the registry (RPC, fetch, alarm, socket handlers) runs in a scope of its name;
// a method the registry calls on itself counts under the call that came in.
for (const name of Object.getOwnPropertyNames(ServiceRegistry.prototype)) {
  const method = Object.getOwnPropertyDescriptor(ServiceRegistry.prototype, name)?.value;
  if (name === "constructor" || typeof method !== "function") continue;
  Object.defineProperty(SessionRegistry.prototype, name, {
    value(this: SessionRegistry, ...args: unknown[]) {
      if (currentScope()?.startsWith("registry.")) return method.apply(this, args);
      return inScope(`registry.${name}`, () => method.apply(this, args));
    },
    writable: true,
    configurable: true,
  });
}

export default {
  async fetch(request, env, ctx) {
    const path = new URL(request.url).pathname;
    if (path === "/__bench/counts") return Response.json(snapshot());
    if (path === "/__bench/reset" && request.method === "POST") {
      reset();
      return new Response(null, { status: 204 });
    }
    return inScope(kindOf(request), () => service.fetch(request, counted(env), ctx));
  },
  scheduled: (controller, env) => inScope("scheduled", () => service.scheduled(controller, counted(env))),
} satisfies ExportedHandler<Env>;
