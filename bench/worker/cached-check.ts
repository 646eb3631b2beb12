/**
 * The "cached" mode as the bench measures it: signature and claims, then an in-isolate cache of
 * positive liveness answers, bounded in size and in age; a miss or a stale entry asks the registry.
 * The consumer middleware (`requireSession({ mode: "cached" })`) is not on main yet, so this is the
 * measured path rebuilt from the same building blocks (verifiedCaller, registryFor), not its code.
 */
export class LivenessCache {
  readonly #entries = new Map<string, number>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxAgeMs: number,
  ) {}

  /** True if `sessionId` was confirmed live less than `maxAgeMs` ago. */
  fresh(sessionId: string, now: number): boolean {
    const checkedAt = this.#entries.get(sessionId);
    if (checkedAt === undefined) return false;
    if (now - checkedAt < this.maxAgeMs) return true;
    this.#entries.delete(sessionId);
    return false;
  }

  remember(sessionId: string, now: number): void {
    this.#entries.delete(sessionId);
    this.#entries.set(sessionId, now);
    // Map iteration is insertion order, so the first key is the oldest answer.
    if (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
  }
}
