import type { SessionService } from "../../src/worker/rpc/session-service";
import type { BenchSessionRegistry, MeasuredSessionRegistry } from "./objects";

declare global {
  /** The bench Worker's bindings: the service's own plus the two bench-only Durable Objects. */
  interface BenchEnv extends Env {
    /** The project's registry class plus the floor's no-op method (objects.ts). */
    SESSION_REGISTRY: DurableObjectNamespace<BenchSessionRegistry>;
    MEASURED_REGISTRY: DurableObjectNamespace<MeasuredSessionRegistry>;
    /** A service binding to this Worker's own SessionService entrypoint, as a consumer binds it. */
    SESSION_SERVICE: Service<SessionService>;
  }
}
