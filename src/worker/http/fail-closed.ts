import { ConfigurationError } from "../../shared/config";
import { errorFacts, log } from "../../shared/log";
import { ApiError, unavailable } from "../errors";

/**
 * The stores a request cannot do without. A call that none of them can answer (unreachable,
 * overloaded, reset) fails the request with 503: a token that could not be checked is never
 * accepted, a limit that could not be counted is never skipped, and nothing is half-written.
 */
const DEPENDENCIES = {
  database: { msg: "D1 call failed", code: "service_unavailable", detail: "The database is unavailable" },
  registry: { msg: "session registry call failed", code: "registry_unavailable", detail: undefined },
  limiter: { msg: "rate limiter call failed", code: "service_unavailable", detail: undefined },
} as const;

export type Dependency = keyof typeof DEPENDENCIES;

/** Runs one call to a dependency; if it throws, the request fails closed with 503 (logged by class, never by message). */
export async function failClosed<R>(dependency: Dependency, call: () => R): Promise<Awaited<R>> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ApiError || error instanceof ConfigurationError) throw error;
    const { msg, code, detail } = DEPENDENCIES[dependency];
    log("error", msg, errorFacts(error));
    throw unavailable(code, detail);
  }
}
