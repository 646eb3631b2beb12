import { configFrom } from "../../shared/config";
import { toApiError } from "../errors";
import { failClosed } from "../http/fail-closed";
import { registryFor } from "../sessions/registry-client";
import { type AccessClaims, type AccessTokenCheck, verifyAccessTokenSignature } from "./access";
import { loadKeySet } from "./keys";

/** Signature and claims of an access token under the service's keys and settings; no liveness. */
export async function verifyAccessToken(env: Env, token: string, options: { acceptExpired?: boolean } = {}): Promise<AccessTokenCheck> {
  return verifyAccessTokenSignature(await loadKeySet(env.JWT_SIGNING_KEYS), configFrom(env), token, Date.now(), options);
}

export type AccessTokenStatus =
  | { ok: true; claims: AccessClaims }
  | { ok: false; code: "invalid_token" | "registry_unavailable" | "service_unavailable" };

/**
 * The whole check of an access token presented by another service (RPC `verify`, RFC 7662
 * introspection): signature and claims here, then liveness from the user's registry, which answers
 * from memory. A registry that cannot answer is a failure, never a pass (fail closed).
 * Returns a value rather than throwing, so callers across RPC keep the code.
 */
export async function checkAccessToken(env: Env, token: unknown): Promise<AccessTokenStatus> {
  if (typeof token !== "string" || token.length === 0) return { ok: false, code: "invalid_token" };
  try {
    const signature = await verifyAccessToken(env, token);
    if (!signature.ok) return { ok: false, code: "invalid_token" };
    const { sub, sid } = signature.claims;
    const live = await failClosed("registry", () => registryFor(env, sub).sessionCheck(sid));
    return live.ok ? { ok: true, claims: signature.claims } : { ok: false, code: "invalid_token" };
  } catch (error) {
    const { code } = toApiError(error);
    if (code === "registry_unavailable" || code === "service_unavailable") return { ok: false, code };
    throw error;
  }
}
