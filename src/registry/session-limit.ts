import type { SessionLimitPolicy } from "../shared/config";

export interface LiveSessionSummary {
  id: string;
  createdAt: number;
  lastActiveAt: number;
}

export type LimitPlan = { refuse: true } | { refuse: false; evict: string[] };

/**
 * What a new sign-in must do so the user holds at most `max` live sessions afterwards. Run inside
 * the registry's synchronous transaction, so two simultaneous sign-ins see each other's result.
 * `max: 1` is single-device mode: the new sign-in either signs the old device out or is refused.
 */
export function planSessionLimit(live: readonly LiveSessionSummary[], max: number, policy: SessionLimitPolicy): LimitPlan {
  const excess = live.length + 1 - max;
  if (excess <= 0) return { refuse: false, evict: [] };
  if (policy === "reject") return { refuse: true };
  const order =
    policy === "evict_oldest"
      ? (a: LiveSessionSummary, b: LiveSessionSummary) => a.createdAt - b.createdAt || a.lastActiveAt - b.lastActiveAt
      : (a: LiveSessionSummary, b: LiveSessionSummary) => a.lastActiveAt - b.lastActiveAt || a.createdAt - b.createdAt;
  return {
    refuse: false,
    evict: [...live]
      .sort(order)
      .slice(0, excess)
      .map((session) => session.id),
  };
}
