import { createMiddleware } from "hono/factory";
import { presentedToken } from "../../../consumer/token-format";
import type { AppEnv, Caller } from "../env";
import { ApiError, dpopChallenge } from "../errors";
import { verifyAccessToken } from "../tokens/check";
import { checkDpopProof } from "../tokens/dpop";
import { dpopRefused, offerNonce, proofRefused } from "../tokens/dpop-http";

/** What a DPoP-bound token's proof must match: the request it came with. */
export interface ProvingRequest {
  method: string;
  url: string;
  /** The `DPoP` proof (the header, or on the live channel its subprotocol entry). */
  dpop: string | null;
}

/**
 * Reads the access token (with the consumer's parser, so both read a header alike) and checks
 * signature and claims; liveness is the registry's to confirm.
 * A DPoP-bound token (`cnf.jkt`, RFC 9449 §7) must come as `DPoP <token>` with a proof by that key
 * for this request (and its `ath`): its `jti` then travels in the actor for the registry's replay
 * check, in the same call that checks liveness. An unbound token is `Bearer`, as it always was.
 */
export async function verifiedCaller(
  env: Env,
  authorization: string | undefined,
  options: { acceptExpired?: boolean } = {},
  request?: ProvingRequest,
): Promise<Caller> {
  const presented = presentedToken(authorization);
  if (!presented) throw new ApiError("invalid_token");
  const { dpop: dpopScheme, token } = presented;
  const refuseToken = () =>
    dpopScheme
      ? new ApiError("invalid_token", { headers: { "WWW-Authenticate": dpopChallenge("invalid_token") } })
      : new ApiError("invalid_token");
  const result = await verifyAccessToken(env, token, options);
  if (!result.ok) throw refuseToken();
  const { claims } = result;
  const caller = { userId: claims.sub, sessionId: claims.sid, claims };
  const jkt = claims.cnf?.jkt;
  if (jkt === undefined) {
    // An unbound token proves nothing about a key: presenting it as DPoP is a client error.
    if (dpopScheme) throw refuseToken();
    return { ...caller, actor: claims.sid, dpop: null };
  }
  // RFC 9449 §7.2: a bound token presented as a bearer token is refused, whatever else came with it.
  if (!dpopScheme) throw await dpopRefused(env, "invalid_token");
  if (!request || request.dpop === null) throw await dpopRefused(env, "invalid_dpop_proof");
  const verdict = await checkDpopProof(env, request.dpop, { method: request.method, url: request.url, accessToken: token });
  if (!verdict.ok) throw await proofRefused(env, verdict);
  // The registry compares again (it holds the session's key); refusing here saves it the call.
  if (verdict.proof.jkt !== jkt) throw await dpopRefused(env, "invalid_dpop_proof");
  return { ...caller, actor: { sessionId: claims.sid, dpop: verdict.proof }, dpop: verdict.proof };
}

/**
 * The access-token guard of every protected route: signature, claims and a DPoP proof here; the
 * route's one registry call then confirms the session is live and the proof unseen (every
 * registry method acting for a session refuses a session that is not), so each request costs a
 * single Durable Object round trip. For a DPoP request the challenge of any refusal is DPoP's,
 * and a registry that asks for a nonce gets one sent.
 */
export const requireAccessToken = createMiddleware<AppEnv>(async (c, next) => {
  const request = { method: c.req.method, url: c.req.url, dpop: c.req.header("DPoP") ?? null };
  const caller = await verifiedCaller(c.env, c.req.header("Authorization"), {}, request);
  c.set("caller", caller);
  await next();
  if (caller.dpop === null) return;
  const code = c.error instanceof ApiError ? c.error.code : null;
  if (code === "invalid_token" || code === "invalid_dpop_proof" || code === "use_dpop_nonce") {
    const refusal = await dpopRefused(c.env, code);
    for (const [name, value] of Object.entries(refusal.headers)) c.res.headers.set(name, value);
    return;
  }
  await offerNonce(c, caller.dpop);
});
