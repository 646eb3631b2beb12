import { WorkerEntrypoint } from "cloudflare:workers";
import type { LiveTokenCheckRpc, LiveTokenVerdict } from "../../contract/live";
import { toApiError } from "../errors";
import { verifyAccessToken } from "../tokens/check";

/**
 * Checks the access token of an `authenticate` frame for the registry, which holds no signing keys
 * and must not carry a second copy of the verification (src/worker/tokens/access.ts is the one).
 * Reached through the registry's loopback binding, `ctx.exports.LiveTokenCheck`. Signature and
 * claims only: the registry judges liveness itself, and a frame must not count as activity.
 * Another Worker bound to this entrypoint learns only what the public JWKS already tells it.
 */
export class LiveTokenCheck extends WorkerEntrypoint<Env> implements LiveTokenCheckRpc {
  async verify(token: unknown): Promise<LiveTokenVerdict> {
    if (typeof token !== "string" || token.length === 0) return { ok: false, code: "invalid_token" };
    try {
      const result = await verifyAccessToken(this.env, token);
      if (!result.ok) return { ok: false, code: "invalid_token" };
      const { sub, sid, exp } = result.claims;
      return { ok: true, userId: sub, sessionId: sid, expiresAt: exp * 1000 };
    } catch (error) {
      // Logged as every request's would be (a bad setting by name); the socket keeps its deadline.
      toApiError(error);
      return { ok: false, code: "service_unavailable" };
    }
  }
}
