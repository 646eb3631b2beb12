import type { DpopProof } from "../contract/dpop";
import type { Actor } from "../contract/registry";
import type { AccessClaims } from "./tokens/access";

/** The caller of a protected route, as the access-token guard verified it (liveness is the registry's). */
export interface Caller {
  userId: string;
  sessionId: string;
  claims: AccessClaims;
  /** What registry calls act as: the session id, or for a DPoP-bound token the id and the request's proof. */
  actor: Actor;
  /** The request's DPoP proof, for a bound token (null otherwise). */
  dpop: DpopProof | null;
}

/** The Hono environment shared by every sub-app. */
export interface AppEnv {
  Bindings: Env;
  Variables: { caller: Caller };
}
