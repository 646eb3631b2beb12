import type { SessionRegistryRpc } from "../../contract/registry";

/**
 * The stub of a user's registry: each user has exactly one, addressed by user id. Typed by the
 * contract, so the request side sees the registry's declared surface and nothing else.
 */
export function registryFor(env: Env, userId: string): DurableObjectStub<SessionRegistryRpc> {
  return env.SESSION_REGISTRY.get(env.SESSION_REGISTRY.idFromName(userId));
}
