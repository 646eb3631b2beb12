import { eventJson, type NewEvent, type SecurityEvent } from "../contract/security-events";
import { base64url, randomBytes } from "../shared/encoding";

/** A row of the registry's `events` table: an event and where it stands on its way out. */
export type EventRow = {
  id: string;
  type: string;
  created_at: number;
  session_id: string | null;
  details: string;
  mirrored: number;
  webhook_state: "pending" | "delivered" | "failed" | "dropped" | null;
  webhook_attempts: number;
  webhook_next_at: number | null;
};

/**
 * The registry's side of the security history. Events are written into the Durable Object's own
 * SQLite by the same synchronous transaction as the change they describe, so none is ever lost to
 * a D1 or webhook failure; the mirror outbox then copies them to D1, and the webhook outbox posts
 * them. A row is dropped here once D1 has it and its webhook is settled.
 */
export class EventLog {
  constructor(private readonly sql: SqlStorage) {}

  record(event: NewEvent, at: number, webhook: boolean): string {
    const id = newEventId(at);
    this.sql.exec(
      `INSERT INTO events (id, type, created_at, session_id, details, webhook_state, webhook_next_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      id,
      event.type,
      at,
      event.sessionId,
      JSON.stringify(event.details),
      webhook ? "pending" : null,
      webhook ? at : null,
    );
    return id;
  }

  unmirrored(limit: number): EventRow[] {
    return this.sql.exec<EventRow>("SELECT * FROM events WHERE mirrored = 0 ORDER BY created_at, id LIMIT ?", limit).toArray();
  }

  markMirrored(ids: readonly string[]): void {
    for (const id of ids) this.sql.exec("UPDATE events SET mirrored = 1 WHERE id = ?", id);
    this.prune();
  }

  dueWebhooks(now: number, limit: number): EventRow[] {
    return this.sql
      .exec<EventRow>(
        "SELECT * FROM events WHERE webhook_state = 'pending' AND webhook_next_at <= ? ORDER BY created_at, id LIMIT ?",
        now,
        limit,
      )
      .toArray();
  }

  settleWebhook(id: string, state: "delivered" | "failed" | "dropped", attempts: number): void {
    this.sql.exec("UPDATE events SET webhook_state = ?, webhook_attempts = ?, webhook_next_at = NULL WHERE id = ?", state, attempts, id);
    this.prune();
  }

  retryWebhook(id: string, attempts: number, at: number): void {
    this.sql.exec("UPDATE events SET webhook_attempts = ?, webhook_next_at = ? WHERE id = ?", attempts, at, id);
  }

  nextWebhookAt(): number | null {
    return this.sql.exec<{ at: number | null }>("SELECT min(webhook_next_at) AS at FROM events WHERE webhook_state = 'pending'").one().at;
  }

  prune(): void {
    this.sql.exec("DELETE FROM events WHERE mirrored = 1 AND (webhook_state IS NULL OR webhook_state != 'pending')");
  }
}

let sequence = 0;

/**
 * Event ids sort by time within a user: a base-36 timestamp, a per-isolate counter (several events
 * share a millisecond in one transaction), then 80 random bits so ids never collide across users.
 */
export function newEventId(at: number): string {
  sequence = (sequence + 1) % 36 ** 4;
  return `evt_${at.toString(36).padStart(9, "0")}${sequence.toString(36).padStart(4, "0")}${base64url(randomBytes(10))}`;
}

/** A row of the log as the API and webhooks show it. */
export function rowJson(row: EventRow): SecurityEvent {
  return eventJson({ id: row.id, type: row.type, createdAt: row.created_at, sessionId: row.session_id, details: row.details });
}
