import { configFrom } from "../config";
import { ApiError } from "../errors";
import { verifyAccessTokenSignature, type AccessClaims } from "../tokens/access";
import { loadKeySet } from "../tokens/keys";
import { callRegistry, registryFor } from "./registry-client";

export type AccessTokenStatus =
  | { ok: true; claims: AccessClaims }
  | { ok: false; code: "invalid_token" | "registry_unavailable" | "service_unavailable" };

/**
 * The whole check of an access token presented by another service (RPC `verify`, RFC 7662
 * introspection): signature and claims here, then liveness from the user's registry, which answers
 * from memory. A registry that cannot answer is a failure, never a pass (fail closed).
 * Returns a value rather than throwing, so callers across RPC keep the code.
 */
export async function checkAccessToken(env: Env, token: unknown, nowMs = Date.now()): Promise<AccessTokenStatus> {
  if (typeof token !== "string" || token.length === 0) return { ok: false, code: "invalid_token" };
  try {
    const signature = await verifyAccessTokenSignature(await loadKeySet(env.JWT_SIGNING_KEYS), configFrom(env), token, nowMs);
    if (!signature.ok) return { ok: false, code: "invalid_token" };
    const { sub, sid } = signature.claims;
    const live = await callRegistry(() => registryFor(env, sub).check(sid));
    return live ? { ok: true, claims: signature.claims } : { ok: false, code: "invalid_token" };
  } catch (error) {
    if (error instanceof ApiError && (error.code === "registry_unavailable" || error.code === "service_unavailable")) {
      return { ok: false, code: error.code };
    }
    throw error;
  }
}
