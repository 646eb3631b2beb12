/**
 * `cached` mode: sessions the service confirmed live recently, per isolate. An entry is trusted
 * until `min(confirmedAt + ttl, token exp)`, so a revocation is seen within `ttl` at worst.
 * Bounded, so a flood of distinct sessions cannot grow the isolate's memory without limit.
 */
export class LivenessCache {
  readonly #liveUntil = new Map<string, number>();

  constructor(readonly maxEntries = 10_000) {}

  isLive(sessionId: string, nowMs: number): boolean {
    const until = this.#liveUntil.get(sessionId);
    if (until === undefined) return false;
    if (nowMs < until) return true;
    this.#liveUntil.delete(sessionId);
    return false;
  }

  remember(sessionId: string, untilMs: number): void {
    this.#liveUntil.delete(sessionId);
    if (this.#liveUntil.size >= this.maxEntries) {
      // Maps iterate in insertion order: the first key is the oldest confirmation.
      const oldest = this.#liveUntil.keys().next().value;
      if (oldest !== undefined) this.#liveUntil.delete(oldest);
    }
    this.#liveUntil.set(sessionId, untilMs);
  }

  forget(sessionId: string): void {
    this.#liveUntil.delete(sessionId);
  }
}
