import { EventLog } from "../events/event-log";
import type { NewEvent } from "../events/events";
import { WebhookOutbox, type WebhookSettings } from "../events/webhook-outbox";
import type { PublishableEvent } from "../live/events";

/** Security events that are also pushed live to the user's devices as `suspicious_sign_in`. */
const SUSPICIOUS: ReadonlySet<string> = new Set(["new_device", "impossible_travel", "session_network_changed"]);

/**
 * The user's security history as the registry writes it: each event is recorded in the
 * transaction of the change it describes, then reaches D1 through the mirror outbox, the webhook
 * through the alarm, and (risk findings) the user's open devices at once.
 */
export class SecurityHistory {
  readonly log: EventLog;
  readonly webhooks: WebhookOutbox;
  #webhookDue = false;

  constructor(
    sql: SqlStorage,
    private readonly deps: { webhook: () => WebhookSettings; userId: () => string | null; publish: (event: PublishableEvent) => void },
  ) {
    this.log = new EventLog(sql);
    this.webhooks = new WebhookOutbox(this.log, { settings: deps.webhook, userId: deps.userId });
  }

  /** Adds an event to the history; call inside the transaction of the change it describes. */
  record(event: NewEvent, now: number): void {
    const webhook = this.deps.webhook().url !== null;
    this.log.record(event, now, webhook);
    if (webhook) this.#webhookDue = true;
    // Risk findings also reach the user's open devices at once (docs/live.md).
    if (SUSPICIOUS.has(event.type) && event.sessionId !== null) {
      this.deps.publish({ type: "suspicious_sign_in", session_id: event.sessionId, reasons: [event.type], at: new Date(now).toISOString() });
    }
  }

  /** Whether an event recorded since the last call waits for the webhook; clears the flag. */
  takeWebhookDue(): boolean {
    const due = this.#webhookDue;
    this.#webhookDue = false;
    return due;
  }
}
