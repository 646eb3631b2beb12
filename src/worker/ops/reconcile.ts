import { closeStaleLiveRows } from "../../db/session-mirror";
import { failClosed } from "../http/fail-closed";
import { registryFor } from "../sessions/registry-client";

export interface ReconcileResult {
  /** False if D1 refused the re-mirror; the registry's alarm keeps retrying it. */
  mirrored: boolean;
  liveSessions: number;
  /** D1 rows that claimed a session live that the registry does not hold live. */
  staleRowsClosed: number;
}

/**
 * Brings one user's D1 rows in line with their registry, which always wins on liveness:
 * the registry re-sends every row it holds (its outbox, forced), then D1 rows it no longer holds
 * at all but that still claim to be live are closed. Safe to repeat.
 */
export async function reconcileUser(env: Env, userId: string): Promise<ReconcileResult> {
  const startedAt = Date.now();
  const { mirrored, liveSessionIds } = await failClosed("registry", () => registryFor(env, userId).adminRemirror());
  const staleRowsClosed = await failClosed("database", () => closeStaleLiveRows(env.DB, userId, liveSessionIds, startedAt));
  return { mirrored, liveSessions: liveSessionIds.length, staleRowsClosed };
}
