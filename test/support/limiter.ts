import { env } from "cloudflare:workers";
import { vi } from "vitest";
import type { RateLimiterRpc } from "../../src/contract/limiter";

/**
 * Seam: the Worker reaches every counter through `env.RATE_LIMITER.get` (limiterFor), and `c.env`
 * in the pool is this `env`. The named limiter calls (all of them when none are named) then fail
 * as an unreachable object does, and the rest reach the real limiter; the production handling of
 * the failure runs unchanged. `vi.restoreAllMocks()` mends it.
 */
export function breakLimiter(methods?: (keyof RateLimiterRpc)[]) {
  const namespace = env.RATE_LIMITER;
  const get = namespace.get.bind(namespace);
  return vi.spyOn(namespace, "get").mockImplementation((id) => {
    const real = get(id) as unknown as Record<keyof RateLimiterRpc, (...args: unknown[]) => unknown>;
    const call =
      (method: keyof RateLimiterRpc) =>
      (...args: unknown[]) =>
        !methods || methods.includes(method) ? Promise.reject(new Error("injected fault")) : Reflect.apply(real[method], real, args);
    return { hit: call("hit"), acquire: call("acquire"), settle: call("settle"), decide: call("decide") } as never;
  });
}
