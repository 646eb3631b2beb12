import type { Context } from "hono";
import type { DpopProof } from "../../contract/dpop";
import { configFrom } from "../../shared/config";
import { ApiError, dpopChallenge } from "../errors";
import { checkDpopProof, type DpopRequest, type DpopVerdict } from "./dpop";
import { issueDpopNonce, nonceToOffer } from "./dpop-nonce";

/**
 * DPoP at the HTTP edge (RFC 9449 §7-9): reading the `DPoP` header, turning a refusal into the
 * API's answer (challenge, fresh nonce), and offering a new nonce on answers as the old one ages.
 */

export type PresentedDpop = { proof: DpopProof } | { proof: null; verdict: Extract<DpopVerdict, { ok: false }> } | null;

/** The request's proof checked for `request`, or null when it carries no `DPoP` header at all. */
export async function presentedDpop(env: Env, headers: Headers, request: DpopRequest): Promise<PresentedDpop> {
  const header = headers.get("DPoP");
  if (header === null) return null;
  const verdict = await checkDpopProof(env, header, request);
  return verdict.ok ? { proof: verdict.proof } : { proof: null, verdict };
}

/**
 * A refused proof as the API answers it: at a protected route 401 with the DPoP challenge (RFC 9449
 * §7.1), at sign-in or a token request 400 (§5); `use_dpop_nonce` carries the nonce to use (§8-9).
 */
export async function dpopRefused(
  env: Env,
  code: "invalid_dpop_proof" | "use_dpop_nonce" | "invalid_token",
  status: 400 | 401 = 401,
): Promise<ApiError> {
  const headers: Record<string, string> = {};
  if (status === 401) headers["WWW-Authenticate"] = dpopChallenge(code);
  const settings = configFrom(env).dpop;
  if (code === "use_dpop_nonce" || settings.nonces) headers["DPoP-Nonce"] = await issueDpopNonce(env.REFRESH_TOKEN_SECRET, Date.now());
  return new ApiError(code, { status, headers });
}

/** The refusal for a proof the Worker already found wrong. */
export function proofRefused(env: Env, verdict: Extract<DpopVerdict, { ok: false }>, status: 400 | 401 = 401): Promise<ApiError> {
  return dpopRefused(env, verdict.code, status);
}

/** With nonces on, an answer to a request with a proof offers the next nonce once the proof's is half its lifetime old. */
export async function offerNonce(c: Context, proof: DpopProof | null): Promise<void> {
  const nonce = await nonceToOffer(c.env.REFRESH_TOKEN_SECRET, configFrom(c.env).dpop, proof?.nonceAt ?? null, Date.now());
  if (nonce !== null) c.header("DPoP-Nonce", nonce);
}
