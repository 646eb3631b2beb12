import { WorkerEntrypoint } from "cloudflare:workers";
import type {
  DpopRequestInfo,
  ListSessionsResult,
  RevokeAllSessionsResult,
  RevokeSessionResult,
  RpcFailure,
  SessionServiceRpc,
  VerifyResult,
} from "../../../consumer/rpc";
import { log } from "../../shared/log";
import { app } from "../app";
import { ApiError, problemResponse, toApiError } from "../errors";
import { failClosed } from "../http/fail-closed";
import { registryFor } from "../sessions/registry-client";
import { checkSettings } from "../settings";
import { checkAccessToken } from "../tokens/check";
import { dpopRequestArg, invalidArgument, reasonArg, sessionIdArg, userIdArg } from "./arguments";

const JWKS_PATH = "/.well-known/jwks.json";

/**
 * The entrypoint other Workers reach through a service binding with `"entrypoint": "SessionService"`.
 * Its public methods are the whole RPC surface: every prototype method of a WorkerEntrypoint is
 * callable over the binding (TypeScript `private` included), so helpers are module functions.
 * Callers are trusted Workers of the same account, so there is no actor session to check; every
 * argument is still validated, and every failure is returned as a value.
 */
export class SessionService extends WorkerEntrypoint<Env> implements SessionServiceRpc {
  async verify(token: string, request?: DpopRequestInfo): Promise<VerifyResult> {
    const status = await checkAccessToken(this.env, token, { request: dpopRequestArg(request) });
    if (!status.ok) return status;
    const { iss, aud, sub, sid, jti, iat, exp, cnf, auth_time, amr } = status.claims;
    // The authentication context (RFC 9470 §4), so a service can ask for a recent proof (consumer `requireFresh`).
    const context = auth_time === undefined ? {} : { auth_time, amr: amr! };
    const claims = { iss: iss!, aud: aud!, sub, sid, jti, iat, exp, ...context, ...(cnf ? { cnf } : {}) };
    return { ok: true, userId: sub, sessionId: sid, claims };
  }

  async listSessions(userId: string): Promise<ListSessionsResult> {
    const invalid = invalidArgument({ userId: userIdArg(userId) });
    if (invalid) return invalid;
    return asResult(this.env, () => failClosed("registry", () => registryFor(this.env, userId).trustedList()));
  }

  async revokeSession(userId: string, sessionId: string, reason: string): Promise<RevokeSessionResult> {
    const invalid = invalidArgument({ userId: userIdArg(userId), sessionId: sessionIdArg(sessionId), reason: reasonArg(reason) });
    if (invalid) return invalid;
    return asResult(this.env, async () => {
      const { revoked } = await failClosed("registry", () => registryFor(this.env, userId).trustedRevoke(sessionId, "service"));
      log("info", "session revoked by a service", { userId, sessionId, reason, revoked });
      return { ok: true, revoked: revoked > 0 };
    });
  }

  async revokeAllSessions(userId: string, reason: string): Promise<RevokeAllSessionsResult> {
    const invalid = invalidArgument({ userId: userIdArg(userId), reason: reasonArg(reason) });
    if (invalid) return invalid;
    return asResult(this.env, async () => {
      const { revoked } = await failClosed("registry", () => registryFor(this.env, userId).trustedRevokeAll("service"));
      log("info", "all sessions revoked by a service", { userId, reason, revoked });
      return { ok: true, revoked };
    });
  }

  /**
   * `binding.fetch()` serves the JWKS only, so a consumer can verify signatures locally without a
   * public URL. Nothing else: through a binding the caller writes every header itself
   * (`CF-Connecting-IP` included), which the public routes trust for rate limits and device places.
   */
  override async fetch(request: Request): Promise<Response> {
    if (new URL(request.url).pathname === JWKS_PATH) return app.fetch(request, this.env, this.ctx);
    return problemResponse(new ApiError("not_found"));
  }
}

/**
 * Runs an RPC method after the settings check, turning the 503s of a dependency or a setting
 * that cannot answer into values: `registry_unavailable` or `service_unavailable`, never a guess.
 */
async function asResult<T>(env: Env, call: () => Promise<T>): Promise<T | RpcFailure> {
  try {
    await checkSettings(env);
    return await call();
  } catch (error) {
    const apiError = toApiError(error);
    if (apiError.code === "registry_unavailable" || apiError.code === "service_unavailable") return { ok: false, code: apiError.code };
    throw error;
  }
}
