import type { LiveEvent } from "../contract/live";
import type { NewEvent, RiskFinding } from "../contract/security-events";
import { iso } from "../contract/session";
import { EventLog, type EventRow } from "./event-log";
import { WebhookOutbox, type WebhookSettings } from "./webhook-outbox";

/** Security events that are also pushed live to the user's devices as `suspicious_sign_in`. */
const RISK_FINDINGS: ReadonlySet<string> = new Set<RiskFinding>(["new_device", "impossible_travel", "session_network_changed"]);
export const isRiskFinding = (type: string): type is RiskFinding => RISK_FINDINGS.has(type);

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
    private readonly deps: {
      webhook: () => WebhookSettings;
      userId: () => string | null;
      publish: (event: LiveEvent) => void;
      /** A risk finding was recorded (its event id): it opens a "was this you?" notice. */
      finding: (eventId: string, event: Extract<NewEvent, { type: RiskFinding }>, now: number) => void;
      /** What a webhook body adds to an event's JSON (a finding's answer link). */
      webhookExtra: (row: EventRow) => Promise<Record<string, unknown> | null>;
      now: () => number;
    },
  ) {
    this.log = new EventLog(sql);
    this.webhooks = new WebhookOutbox(this.log, { settings: deps.webhook, userId: deps.userId, now: deps.now, extra: deps.webhookExtra });
  }

  /** Adds an event to the history; call inside the transaction of the change it describes. */
  record(event: NewEvent, now: number): void {
    const webhook = this.deps.webhook().url !== null;
    const id = this.log.record(event, now, webhook);
    if (webhook) this.#webhookDue = true;
    // Risk findings also reach the user's open devices at once (docs/live.md), and ask "was this you?".
    if (isRiskFinding(event.type) && event.sessionId !== null) {
      this.deps.publish({ type: "suspicious_sign_in", session_id: event.sessionId, reasons: [event.type], at: iso(now) });
      this.deps.finding(id, event as Extract<NewEvent, { type: RiskFinding }>, now);
    }
  }

  /** Whether an event recorded since the last call waits for the webhook; clears the flag. */
  takeWebhookDue(): boolean {
    const due = this.#webhookDue;
    this.#webhookDue = false;
    return due;
  }
}
