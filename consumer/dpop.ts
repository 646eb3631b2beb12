import { problem } from "./responses.js";
import type { DpopRequestInfo } from "./rpc.js";

/**
 * DPoP-bound tokens (RFC 9449) at a consumer. The proof's `jti` can only be checked against the
 * user's replay cache, which lives in the session service, so a bound token is always confirmed by
 * the service, with the request it came with (one RPC call, as in `strict` mode), whatever the
 * consumer's mode; a consumer without a binding refuses bound tokens (README, "DPoP-bound tokens").
 */

/** What the service checks a bound token's proof against: this request, as the client sent it. */
export function dpopRequestOf(request: Request): DpopRequestInfo {
  return { method: request.method, url: request.url, dpop: request.headers.get("DPoP") };
}

const DPOP_ALGS = 'algs="ES256 EdDSA Ed25519"';

/** RFC 9449 §7.1: a refused token or proof of the DPoP scheme is challenged as DPoP. */
export function dpopRefusal(error: "invalid_token" | "invalid_dpop_proof" | "use_dpop_nonce", nonce?: string): Response {
  const headers: Record<string, string> = { "WWW-Authenticate": `DPoP error="${error}", ${DPOP_ALGS}` };
  if (nonce !== undefined) headers["DPoP-Nonce"] = nonce;
  const titles = {
    invalid_token: "The access token is missing, invalid, expired or revoked",
    invalid_dpop_proof: "The DPoP proof is missing or invalid",
    use_dpop_nonce: "The DPoP proof must carry the server's nonce",
  };
  return problem(401, error, titles[error], headers);
}
