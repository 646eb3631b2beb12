import type { SessionService } from "../../src/worker/rpc/session-service";
import type { MeasuredSessionRegistry, NoopObject } from "./objects";

declare global {
  /** The bench Worker's bindings: the service's own plus the two bench-only Durable Objects. */
  interface BenchEnv extends Env {
    NOOP: DurableObjectNamespace<NoopObject>;
    MEASURED_REGISTRY: DurableObjectNamespace<MeasuredSessionRegistry>;
    /** A service binding to this Worker's own SessionService entrypoint, as a consumer binds it. */
    SESSION_SERVICE: Service<SessionService>;
  }
}
