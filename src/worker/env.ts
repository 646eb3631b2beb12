import type { AccessClaims } from "./tokens/access";

/** The caller of a protected route, as the access-token guard verified it (liveness is the registry's). */
export interface Caller {
  userId: string;
  sessionId: string;
  claims: AccessClaims;
}

/** The Hono environment shared by every sub-app. */
export interface AppEnv {
  Bindings: Env;
  Variables: { caller: Caller };
}
