import type { DpopRequestInfo } from "../../../consumer/rpc";
import type { Actor } from "../../contract/registry";
import { configFrom } from "../../shared/config";
import { toApiError } from "../errors";
import { failClosed } from "../http/fail-closed";
import { registryFor } from "../sessions/registry-client";
import { type AccessClaims, type AccessTokenCheck, verifyAccessTokenSignature } from "./access";
import { checkDpopProof } from "./dpop";
import { issueDpopNonce } from "./dpop-nonce";
import { loadKeySet } from "./keys";

/** Signature and claims of an access token under the service's keys and settings; no liveness. */
export async function verifyAccessToken(env: Env, token: string, options: { acceptExpired?: boolean } = {}): Promise<AccessTokenCheck> {
  return verifyAccessTokenSignature(await loadKeySet(env.JWT_SIGNING_KEYS), configFrom(env), token, Date.now(), options);
}

export type AccessTokenStatus =
  | { ok: true; claims: AccessClaims }
  | { ok: false; code: "invalid_token" | "invalid_dpop_proof" | "registry_unavailable" | "service_unavailable" }
  | { ok: false; code: "use_dpop_nonce"; nonce: string };

/**
 * How a DPoP-bound token's proof is checked:
 * - `request`: the request the token came with, in the `DPoP` scheme (RPC `verify`); the proof is
 *   checked here and its `jti` by the registry, in the one call that checks liveness. A bound token
 *   without it is refused, and so is an unbound token presented as DPoP.
 * - `"by-caller"`: introspection (RFC 9449 §6.2): the resource server holds the request and checks
 *   the proof against the `cnf` it is answered; liveness is checked here.
 */
export type ProofCheck = { request: DpopRequestInfo | undefined } | "by-caller";

/**
 * The whole check of an access token presented by another service (RPC `verify`, RFC 7662
 * introspection): signature and claims here, then liveness from the user's registry, which answers
 * from memory. A registry that cannot answer is a failure, never a pass (fail closed).
 * Returns a value rather than throwing, so callers across RPC keep the code.
 */
export async function checkAccessToken(
  env: Env,
  token: unknown,
  proofCheck: ProofCheck = { request: undefined },
): Promise<AccessTokenStatus> {
  if (typeof token !== "string" || token.length === 0) return { ok: false, code: "invalid_token" };
  try {
    const signature = await verifyAccessToken(env, token);
    if (!signature.ok) return { ok: false, code: "invalid_token" };
    const { sub, sid, cnf } = signature.claims;
    let actor: Actor = sid;
    if (proofCheck !== "by-caller") {
      const request = proofCheck.request;
      if (cnf === undefined && request !== undefined) return { ok: false, code: "invalid_token" };
      if (cnf !== undefined) {
        if (request === undefined || typeof request.dpop !== "string") return { ok: false, code: "invalid_dpop_proof" };
        const verdict = await checkDpopProof(env, request.dpop, { method: request.method, url: request.url, accessToken: token });
        if (!verdict.ok) return refusedProof(env, verdict.code);
        if (verdict.proof.jkt !== cnf.jkt) return { ok: false, code: "invalid_dpop_proof" };
        actor = { sessionId: sid, dpop: verdict.proof };
      }
    }
    const live = await failClosed("registry", () => registryFor(env, sub).sessionCheck(actor));
    if (live.ok) return { ok: true, claims: signature.claims };
    return live.code === "invalid_token" ? { ok: false, code: "invalid_token" } : refusedProof(env, live.code);
  } catch (error) {
    const { code } = toApiError(error);
    if (code === "registry_unavailable" || code === "service_unavailable") return { ok: false, code };
    throw error;
  }
}

async function refusedProof(env: Env, code: "invalid_dpop_proof" | "use_dpop_nonce"): Promise<AccessTokenStatus> {
  if (code === "invalid_dpop_proof") return { ok: false, code };
  return { ok: false, code, nonce: await issueDpopNonce(env.REFRESH_TOKEN_SECRET, Date.now()) };
}
