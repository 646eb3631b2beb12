import type { Context, MiddlewareHandler } from "hono";
import { dpopRefusal, dpopRequestOf } from "./dpop.js";
import { JwksCache } from "./jwks.js";
import { LivenessCache } from "./liveness-cache.js";
import { type RequireSessionOptions, type ResolvedOptions, resolveOptions, type SessionCheckMode } from "./options.js";
import { invalidToken, sessionServiceUnavailable } from "./responses.js";
import type { AccessTokenClaims, DpopRequestInfo, SessionServiceBinding, VerifyResult } from "./rpc.js";
import { isCanonicalCompactJws, presentedToken } from "./token-format.js";
import { verifyLocally } from "./verify-local.js";

export interface VerifiedSession {
  userId: string;
  sessionId: string;
  claims: AccessTokenClaims;
  /** How liveness was established: asked now (`strict`, `cached` miss), remembered (`cached` hit), or not at all (`stateless`). */
  liveness: "confirmed" | "cached" | "unchecked";
  mode: SessionCheckMode;
}

export type SessionVariables = { session: VerifiedSession };

const MAX_TOKEN_LENGTH = 2048;
/** Host is a placeholder: through a service binding the request goes to the bound Worker whatever the URL. */
const JWKS_THROUGH_BINDING = "https://edge-sessions.internal/.well-known/jwks.json";

/**
 * Hono middleware for Workers that accept the session service's access tokens. See README.md for
 * what each mode costs and how soon it sees a revocation.
 */
export function requireSession(options: RequireSessionOptions): MiddlewareHandler<{ Variables: SessionVariables }> {
  const resolved = resolveOptions(options);
  const jwks = new JwksCache();
  const liveness = new LivenessCache();

  return async (c, next) => {
    // The service reads the header and the token's spelling with the same two functions, so no
    // mode accepts a string the service refuses. Anything else is refused before it costs a round trip.
    const presented = presentedToken(c.req.header("Authorization"));
    const token = presented?.token;
    if (!token || token.length > MAX_TOKEN_LENGTH || !isCanonicalCompactJws(token)) return invalidToken();
    // The DPoP scheme: the service checks the proof against this request (RFC 9449 §7).
    const dpop = presented.dpop ? dpopRequestOf(c.req.raw) : undefined;
    const nowMs = resolved.now();

    let session: VerifiedSession | Response;
    if (resolved.mode === "strict") {
      session = await confirmWithService(resolved.binding!(c), token, resolved.mode, dpop);
    } else {
      const local = await verifyLocally(token, jwks, jwksFetcher(c, resolved), { ...resolved, nowMs });
      if (!local.ok) return local.code === "jwks_unavailable" ? sessionServiceUnavailable() : invalidToken();
      const { sub: userId, sid: sessionId } = local.claims;
      if (local.claims.cnf !== undefined || dpop !== undefined) {
        // Bound (or claimed to be): no local check can see a replayed proof, so the service decides, every time.
        if (!resolved.binding) return dpopRefusal("invalid_token");
        session = await confirmWithService(resolved.binding(c), token, resolved.mode, dpop);
      } else if (resolved.mode === "stateless") {
        session = { userId, sessionId, claims: local.claims, liveness: "unchecked", mode: "stateless" };
      } else if (liveness.isLive(sessionId, nowMs)) {
        session = { userId, sessionId, claims: local.claims, liveness: "cached", mode: "cached" };
      } else {
        session = await confirmWithService(resolved.binding!(c), token, "cached");
        if (session instanceof Response) liveness.forget(sessionId);
        else liveness.remember(sessionId, Math.min(nowMs + resolved.cacheTtlMs, local.claims.exp * 1000));
      }
    }
    if (session instanceof Response) return session;
    c.set("session", session);
    await next();
  };
}

async function confirmWithService(
  binding: SessionServiceBinding,
  token: string,
  mode: SessionCheckMode,
  dpop?: DpopRequestInfo,
): Promise<VerifiedSession | Response> {
  let result: VerifyResult;
  try {
    result = dpop ? await binding.verify(token, dpop) : await binding.verify(token);
  } catch (error) {
    // The binding itself failed (service down, overloaded, not deployed): fail closed.
    console.error(JSON.stringify({ level: "error", msg: "session service call failed", error: String(error) }));
    return sessionServiceUnavailable();
  }
  if (!result.ok && result.code === "use_dpop_nonce") return dpopRefusal("use_dpop_nonce", result.nonce);
  if (!result.ok && result.code === "invalid_dpop_proof") return dpopRefusal("invalid_dpop_proof");
  if (!result.ok && result.code === "invalid_token") return dpop ? dpopRefusal("invalid_token") : invalidToken();
  if (!result.ok) return sessionServiceUnavailable();
  return { userId: result.userId, sessionId: result.sessionId, claims: result.claims, liveness: "confirmed", mode };
}

function jwksFetcher(c: Context, options: ResolvedOptions): () => Promise<Response> {
  if (options.jwksUrl) {
    const url = options.jwksUrl;
    return () => fetch(url, { headers: { Accept: "application/json" } });
  }
  return () => options.binding!(c).fetch(JWKS_THROUGH_BINDING, { headers: { Accept: "application/json" } });
}
