import { iso } from "./session";
import type { SecurityEvent, SecurityEventDetails, SecurityEventType } from "./wire";

export type { RiskFinding, SecurityEvent, SecurityEventDetails, SecurityEventType } from "./wire";

/** An event as the registry records it, in the transaction of the change it describes. */
export type NewEvent = {
  [T in SecurityEventType]: { type: T; sessionId: string | null; details: SecurityEventDetails[T] };
}[SecurityEventType];

/**
 * A stored event as the API and webhooks show it, from the registry's `events` table or D1's
 * `security_events`: `type` and `details` were written together from one `NewEvent`.
 */
export function eventJson(row: { id: string; type: string; createdAt: number; sessionId: string | null; details: string }): SecurityEvent {
  return {
    id: row.id,
    type: row.type,
    created_at: iso(row.createdAt),
    session_id: row.sessionId,
    details: JSON.parse(row.details),
  } as SecurityEvent;
}
