import type { Context } from "hono";
import type { RefreshEndpoint, RefreshProof } from "../../contract/registry";
import { configFrom } from "../../shared/config";
import { genuineRefreshToken } from "../../shared/refresh-token";
import { describePlace } from "../devices/device";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { failClosed } from "../http/fail-closed";
import { rateLimited } from "../limits/limits";
import { registryFor } from "../sessions/registry-client";
import { signAccessToken } from "../tokens/access";
import { dpopRefused, offerNonce, presentedDpop } from "../tokens/dpop-http";
import { loadKeySet } from "../tokens/keys";
import { tokenType } from "./binding";

export interface Refreshed {
  accessToken: string;
  tokenType: "DPoP" | "Bearer";
  expiresIn: number;
  refreshToken: string;
  expiresAt: number;
}

/**
 * The one refresh behind `POST /v1/auth/refresh` and `POST /v1/oauth/token` (grant_type
 * refresh_token): the tag is checked before anything is routed by the token, the request's DPoP
 * proof is checked here, and the user's registry decides the rest in one call (rotation, grace,
 * reuse, the per-session limit, risk checks, and for a bound session its key and the proof's jti).
 * A refusal is thrown as the endpoint answers it: `invalid_refresh_token`, `rate_limited`,
 * `invalid_dpop_proof` or `use_dpop_nonce` (401 here, 400 at the token endpoint: `dpopStatus`).
 */
export async function refreshSession(
  c: Context<AppEnv>,
  presented: string | undefined,
  endpoint: RefreshEndpoint,
  dpopStatus: 400 | 401,
): Promise<Refreshed> {
  const token = await genuineRefreshToken(c.env, presented);
  if (!token) throw new ApiError("invalid_refresh_token");
  const keys = await loadKeySet(c.env.JWT_SIGNING_KEYS);
  const dpop = await presentedDpop(c.env, c.req.raw.headers, { method: c.req.method, url: c.req.url });
  // Whether the session is bound is the registry's to know; it gets what was presented, good or bad.
  const proof: RefreshProof =
    dpop === null
      ? { endpoint, proof: null, defect: "missing" }
      : dpop.proof === null
        ? { endpoint, proof: null, defect: "invalid", reason: dpop.verdict.reason }
        : { endpoint, proof: dpop.proof };
  // Asked for a nonce before the registry is: nothing was presented it could act on.
  if (dpop?.proof === null && dpop.verdict.code === "use_dpop_nonce") throw await dpopRefused(c.env, "use_dpop_nonce", dpopStatus);
  const place = describePlace(c.req.raw);
  const result = await failClosed("registry", () => registryFor(c.env, token.userId).refresh(token.raw, place, proof));
  if (!result.ok) {
    // The session keeps its token: neither a 429 nor a refused proof is a refusal of the token.
    if (result.code === "rate_limited") throw rateLimited(result.retryAfterSeconds);
    if (result.code === "invalid_dpop_proof" || result.code === "use_dpop_nonce") throw await dpopRefused(c.env, result.code, dpopStatus);
    throw new ApiError("invalid_refresh_token");
  }
  const config = configFrom(c.env);
  const accessToken = await signAccessToken(keys, config, result);
  if (dpop?.proof) await offerNonce(c, dpop.proof);
  c.header("Cache-Control", "no-store");
  return {
    accessToken,
    tokenType: tokenType(result.jkt),
    expiresIn: config.accessTokenTtlSeconds,
    refreshToken: result.refreshToken,
    expiresAt: result.expiresAt,
  };
}
