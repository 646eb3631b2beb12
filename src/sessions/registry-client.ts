import { ApiError } from "../errors";
import type { SessionRegistry } from "./registry";

/** The stub of a user's registry. Each user has exactly one, addressed by user id. */
export function registryFor(env: Env, userId: string): DurableObjectStub<SessionRegistry> {
  return env.SESSION_REGISTRY.get(env.SESSION_REGISTRY.idFromName(userId));
}

/**
 * Runs one call to a registry. If the registry cannot answer (unreachable, overloaded, reset),
 * the request fails closed with 503: a token that could not be checked is never accepted.
 */
export async function callRegistry<R>(call: () => R): Promise<Awaited<R>> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ApiError) throw error;
    const overloaded = error instanceof Error && (error as { overloaded?: boolean }).overloaded === true;
    console.error(JSON.stringify({ level: "error", msg: "session registry call failed", overloaded, error: String(error) }));
    throw new ApiError("registry_unavailable", undefined, { "Retry-After": "1" });
  }
}
