import type { Caller } from "./sessions/guard";

/** The Hono environment shared by every sub-app. */
export interface AppEnv {
  Bindings: Env;
  Variables: { caller: Caller };
}
