import type { Actor } from "../../src/contract/registry";
import { SessionRegistry } from "../../src/registry/session-registry";

/**
 * The bench Worker's SESSION_REGISTRY: the project's class with one method added, so the floor
 * reaches the very object the strict check reaches (same class, same user, same stub, same
 * failClosed wrapper) and differs from it only in what the method does. Exported under the
 * project's class name from the bench entry only: the service's Worker never ships it.
 */
export class BenchSessionRegistry extends SessionRegistry {
  /** The floor: takes what `sessionCheck` takes, answers its shape, does nothing. */
  benchNoop(_actor: Actor): { ok: true } {
    return { ok: true };
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
