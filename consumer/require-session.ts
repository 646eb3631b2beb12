import type { Context, MiddlewareHandler } from "hono";
import { JwksCache } from "./jwks";
import { LivenessCache } from "./liveness-cache";
import { type RequireSessionOptions, type ResolvedOptions, resolveOptions, type SessionCheckMode } from "./options";
import { invalidToken, sessionServiceUnavailable } from "./responses";
import type { AccessTokenClaims, SessionServiceBinding, VerifyResult } from "./rpc";
import { bearerToken, isCanonicalCompactJws } from "./token-format";
import { verifyLocally } from "./verify-local";

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
    const token = bearerToken(c.req.header("Authorization"));
    if (!token || token.length > MAX_TOKEN_LENGTH || !isCanonicalCompactJws(token)) return invalidToken();
    const nowMs = resolved.now();

    let session: VerifiedSession | Response;
    if (resolved.mode === "strict") {
      session = await confirmWithService(resolved.binding!(c), token, resolved.mode);
    } else {
      const local = await verifyLocally(token, jwks, jwksFetcher(c, resolved), { ...resolved, nowMs });
      if (!local.ok) return local.code === "jwks_unavailable" ? sessionServiceUnavailable() : invalidToken();
      const { sub: userId, sid: sessionId } = local.claims;
      if (resolved.mode === "stateless") {
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
): Promise<VerifiedSession | Response> {
  let result: VerifyResult;
  try {
    result = await binding.verify(token);
  } catch (error) {
    // The binding itself failed (service down, overloaded, not deployed): fail closed.
    console.error(JSON.stringify({ level: "error", msg: "session service call failed", error: String(error) }));
    return sessionServiceUnavailable();
  }
  if (!result.ok) return result.code === "invalid_token" ? invalidToken() : sessionServiceUnavailable();
  return { userId: result.userId, sessionId: result.sessionId, claims: result.claims, liveness: "confirmed", mode };
}

function jwksFetcher(c: Context, options: ResolvedOptions): () => Promise<Response> {
  if (options.jwksUrl) {
    const url = options.jwksUrl;
    return () => fetch(url, { headers: { Accept: "application/json" } });
  }
  return () => options.binding!(c).fetch(JWKS_THROUGH_BINDING, { headers: { Accept: "application/json" } });
}
