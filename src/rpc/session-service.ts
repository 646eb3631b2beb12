import { WorkerEntrypoint } from "cloudflare:workers";
import type {
  ListSessionsResult,
  RevokeAllSessionsResult,
  RevokeSessionResult,
  RpcFailure,
  SessionServiceRpc,
  VerifyResult,
} from "../../consumer/rpc";
import { app } from "../app";
import { ApiError, problemResponse } from "../errors";
import { callRegistry, registryFor } from "../sessions/registry-client";
import { checkAccessToken } from "../sessions/token-check";
import { invalidArgument, reasonArg, sessionIdArg, userIdArg } from "./arguments";

const JWKS_PATH = "/.well-known/jwks.json";

/**
 * The entrypoint other Workers reach through a service binding with `"entrypoint": "SessionService"`.
 * Its public methods are the whole RPC surface: every prototype method of a WorkerEntrypoint is
 * callable over the binding (TypeScript `private` included), so helpers are module functions.
 * Callers are trusted Workers of the same account, so there is no actor session to check; every
 * argument is still validated, and every failure is returned as a value.
 */
export class SessionService extends WorkerEntrypoint<Env> implements SessionServiceRpc {
  async verify(token: string): Promise<VerifyResult> {
    const status = await checkAccessToken(this.env, token);
    if (!status.ok) return status;
    const { iss, aud, sub, sid, jti, iat, exp } = status.claims;
    return { ok: true, userId: sub, sessionId: sid, claims: { iss: iss!, aud: aud!, sub, sid, jti, iat, exp } };
  }

  async listSessions(userId: string): Promise<ListSessionsResult> {
    const invalid = invalidArgument({ userId: userIdArg(userId) });
    if (invalid) return invalid;
    return failClosed(async () => ({ ok: true, sessions: await registryFor(this.env, userId).listLiveSessions() }));
  }

  async revokeSession(userId: string, sessionId: string, reason: string): Promise<RevokeSessionResult> {
    const invalid = invalidArgument({ userId: userIdArg(userId), sessionId: sessionIdArg(sessionId), reason: reasonArg(reason) });
    if (invalid) return invalid;
    return failClosed(async () => {
      const { revoked } = await registryFor(this.env, userId).revokeSessionAs(sessionId, "service");
      audit("session revoked by a service", { userId, sessionId, reason, revoked: Number(revoked) });
      return { ok: true, revoked };
    });
  }

  async revokeAllSessions(userId: string, reason: string): Promise<RevokeAllSessionsResult> {
    const invalid = invalidArgument({ userId: userIdArg(userId), reason: reasonArg(reason) });
    if (invalid) return invalid;
    return failClosed(async () => {
      const { revoked } = await registryFor(this.env, userId).revokeAllSessionsAs("service");
      audit("all sessions revoked by a service", { userId, reason, revoked });
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

/** A registry that cannot answer yields `registry_unavailable`, never a guess. */
async function failClosed<T>(call: () => Promise<T>): Promise<T | RpcFailure> {
  try {
    return await callRegistry(call);
  } catch (error) {
    if (error instanceof ApiError && error.code === "registry_unavailable") return { ok: false, code: "registry_unavailable" };
    throw error;
  }
}

function audit(msg: string, fields: Record<string, string | number>): void {
  console.log(JSON.stringify({ level: "info", msg, ...fields }));
}
