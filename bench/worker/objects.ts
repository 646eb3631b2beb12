import { DurableObject } from "cloudflare:workers";
import { SessionRegistry } from "../../src/registry/session-registry";

/** The floor: a Durable Object round trip that does no work at all. */
export class NoopObject extends DurableObject {
  ping(): boolean {
    return true;
  }
}

/**
 * The project's registry with one read-only method added, bound separately from SESSION_REGISTRY,
 * so the timed checks always run against the unmodified class. Used only for the memory estimate.
 */
export class MeasuredSessionRegistry extends SessionRegistry {
  storageBytes(): number {
    return this.ctx.storage.sql.databaseSize;
  }
}
