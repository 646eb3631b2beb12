import { digestsEqual } from "../shared/encoding";
import {
  deriveSuccessor,
  hasGenuineTag,
  hashRefreshToken,
  parseRefreshToken,
  type RefreshToken,
  refreshKeys,
} from "../shared/refresh-token";
import type { RegistryRow } from "./schema";

/** A genuine refresh token of the registry's user, with the hashes a rotation compares and writes. */
export interface PresentedToken {
  token: RefreshToken;
  hash: Uint8Array<ArrayBuffer>;
  successor: RefreshToken;
  successorHash: Uint8Array<ArrayBuffer>;
}

/** A presented token that belongs to the registry's user and carries a genuine tag, or null. */
export async function genuineTokenOf(secret: string | undefined, presented: string, userId: string | null): Promise<RefreshToken | null> {
  const token = parseRefreshToken(presented);
  if (!token || token.userId !== userId) return null;
  return (await hasGenuineTag(await refreshKeys(secret), token)) ? token : null;
}

/** Everything a rotation needs that takes an await, done before the rotation's atomic step. */
export async function presentedRefreshToken(
  secret: string | undefined,
  presented: string,
  userId: string | null,
): Promise<PresentedToken | null> {
  const token = await genuineTokenOf(secret, presented, userId);
  if (!token) return null;
  const keys = await refreshKeys(secret);
  const hash = await hashRefreshToken(token);
  const successor = await deriveSuccessor(keys, token);
  return { token, hash, successor, successorHash: await hashRefreshToken(successor) };
}

/**
 * What a presented refresh token is to its session:
 * - `current`: the session's latest token; it yields its successor.
 * - `grace`: the previous token, inside the grace window, whose successor is the current token
 *   (two tabs refreshing at once); it yields that same successor again.
 * - `reuse`: any earlier genuine token (RFC 9700 §4.14.2): one of its holders is not the user.
 * - `invalid`: anything else (a later generation, a hash that does not match).
 */
export type Rotation = "current" | "grace" | "reuse" | "invalid";

/** Decides a rotation from the stored row alone: no await, so it and its write are one atomic step. */
export function rotationOf(
  row: Pick<RegistryRow, "refresh_generation" | "refresh_hash" | "previous_refresh_hash" | "rotated_at">,
  presented: Pick<PresentedToken, "hash" | "successorHash"> & { token: Pick<RefreshToken, "generation"> },
  now: number,
  graceMs: number,
): Rotation {
  const { generation } = presented.token;
  if (generation === row.refresh_generation && digestsEqual(presented.hash, new Uint8Array(row.refresh_hash))) return "current";
  const isPrevious =
    generation === row.refresh_generation - 1 &&
    row.previous_refresh_hash !== null &&
    digestsEqual(presented.hash, new Uint8Array(row.previous_refresh_hash));
  if (
    isPrevious &&
    row.rotated_at !== null &&
    now - row.rotated_at <= graceMs &&
    digestsEqual(presented.successorHash, new Uint8Array(row.refresh_hash))
  ) {
    return "grace";
  }
  return generation < row.refresh_generation ? "reuse" : "invalid";
}

/**
 * Refreshes per session in the current fixed window. In memory: it guards cost, not secrets, and
 * counting in the registry keeps the refresh to its one registry call. Eviction resets it, which
 * is harmless.
 */
export class RefreshWindows {
  readonly #windows = new Map<string, { endsAt: number; count: number }>();

  /** Counts one refresh of the session, or answers how long to wait when its window is used up. */
  count(
    sessionId: string,
    now: number,
    limits: { limit: number; windowMs: number },
  ): { ok: false; code: "rate_limited"; retryAfterSeconds: number } | null {
    let window = this.#windows.get(sessionId);
    if (!window || window.endsAt <= now) {
      window = { endsAt: now + limits.windowMs, count: 0 };
      this.#windows.set(sessionId, window);
    }
    if (window.count >= limits.limit)
      return { ok: false, code: "rate_limited", retryAfterSeconds: Math.max(1, Math.ceil((window.endsAt - now) / 1000)) };
    window.count++;
    return null;
  }

  /** How many windows are held: forgetEnded keeps it to the sessions refreshed in the last window. */
  get size(): number {
    return this.#windows.size;
  }

  /** Forgets windows that have ended. */
  forgetEnded(now: number): void {
    for (const [id, window] of this.#windows) if (window.endsAt <= now) this.#windows.delete(id);
  }
}
