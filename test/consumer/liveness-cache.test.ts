import { describe, expect, it } from "vitest";
import { LivenessCache } from "../../consumer/liveness-cache";

/** `cached` mode's memory of confirmed sessions (consumer/liveness-cache.ts), on its own. */
describe("the consumer's liveness cache", () => {
  it("should take a session as live until its bound, and not at it", () => {
    const cache = new LivenessCache();
    cache.remember("ses_a", 1_000);
    expect(cache.isLive("ses_a", 999)).toBe(true);
    expect(cache.isLive("ses_a", 1_000)).toBe(false);
    expect(cache.isLive("ses_a", 999)).toBe(false);
    expect(cache.isLive("ses_never", 0)).toBe(false);
  });

  it("should forget a session it is told to", () => {
    const cache = new LivenessCache();
    cache.remember("ses_a", 1_000);
    cache.forget("ses_a");
    expect(cache.isLive("ses_a", 0)).toBe(false);
  });

  it("should drop the oldest confirmation when full, a fresh confirmation counting as the newest", () => {
    const cache = new LivenessCache(2);
    cache.remember("ses_a", 1_000);
    cache.remember("ses_b", 1_000);
    cache.remember("ses_a", 1_000);
    cache.remember("ses_c", 1_000);
    expect(["ses_a", "ses_b", "ses_c"].map((id) => cache.isLive(id, 0))).toEqual([true, false, true]);
  });

  it("should drop nothing when a session it already holds is confirmed again, full as it is", () => {
    const cache = new LivenessCache(2);
    cache.remember("ses_a", 1_000);
    cache.remember("ses_b", 1_000);
    cache.remember("ses_b", 2_000);
    expect(cache.isLive("ses_a", 0)).toBe(true);
    expect(cache.isLive("ses_b", 1_500)).toBe(true);
  });

  it("should not let an expired entry hold a place once it has been read", () => {
    const cache = new LivenessCache(2);
    cache.remember("ses_b", 1_000);
    cache.remember("ses_a", 10);
    expect(cache.isLive("ses_a", 20)).toBe(false);
    cache.remember("ses_c", 1_000);
    expect(cache.isLive("ses_b", 20)).toBe(true);
    expect(cache.isLive("ses_c", 20)).toBe(true);
  });
});
