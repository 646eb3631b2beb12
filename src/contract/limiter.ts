/**
 * What the Worker asks a `RateLimiter` (src/limiter/): one exact counter per key, such as
 * `ip:<address>`, `signup-ip:<address>`, `account:<hash of the email>` or `oauth-client-ip:<address>`.
 * Limits travel with each call, so one class serves every limit and the configuration stays in the Worker.
 */

/** A fixed-window limit: at most `limit` counted events per `windowMs`. */
export interface WindowLimit {
  limit: number;
  windowMs: number;
}

export type LimitDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };
export type LeaseDecision = { allowed: true; lease: string } | { allowed: false; retryAfterSeconds: number };

export interface RateLimiterRpc extends Rpc.DurableObjectBranded {
  /** Counts one attempt if the window has room (attempts per address). */
  hit(limit: WindowLimit): LimitDecision;
  /** Reserves one failure before a password is checked; `settle` says how it ended. */
  acquire(limit: WindowLimit): Promise<LeaseDecision>;
  /** Reports a reserved attempt: a failure is counted, a success frees its slot. */
  settle(lease: string, failed: boolean, limit: WindowLimit): void;
  /** Decides an attempt whose outcome is known but not yet told (a client secret, cheap to check). */
  decide(limit: WindowLimit, failed: boolean): LimitDecision;
}
