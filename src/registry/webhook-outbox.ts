import { log } from "../shared/log";
import { type EventLog, type EventRow, rowJson } from "./event-log";
import { signatureHeader } from "./webhook-signature";

/** Attempts per event before it is given up (30 s, then 1 to 32 minutes apart: about an hour of retries). */
export const WEBHOOK_MAX_ATTEMPTS = 8;
const RETRY_BASE_MS = 30_000;
const RETRY_MAX_MS = 60 * 60_000;
/** A receiver that does not answer in this long counts as a failure; the alarm is not held longer. */
const DELIVERY_TIMEOUT_MS = 10_000;
const BATCH = 25;

export interface WebhookSettings {
  url: string | null;
  secret: string | null;
}

/**
 * Posts pending security events to the configured webhook, from the registry's alarm: never on a
 * request's path, so a slow or failing receiver cannot slow or fail a sign-in. At least once:
 * a receiver may see an event twice (dedupe on `Webhook-Id`); order across retries is not kept.
 */
export class WebhookOutbox {
  #running: Promise<void> | null = null;

  constructor(
    private readonly log: EventLog,
    private readonly deps: {
      settings: () => WebhookSettings;
      userId: () => string | null;
      now: () => number;
      /** Fields the body adds to the event's JSON, minted at delivery (they carry no secret the event row holds). */
      extra: (row: EventRow) => Promise<Record<string, unknown> | null>;
    },
  ) {}

  /** Delivers what is due; resolves with when the next retry is due, if any. */
  async deliverDue(): Promise<number | null> {
    // One run at a time: an alarm and a test-driven run must not post the same event twice.
    this.#running ??= this.#deliver().finally(() => {
      this.#running = null;
    });
    await this.#running;
    return this.log.nextWebhookAt();
  }

  async #deliver(): Promise<void> {
    const { url, secret } = this.deps.settings();
    const userId = this.deps.userId();
    for (const row of this.log.dueWebhooks(this.deps.now(), BATCH)) {
      if (url === null || userId === null) {
        this.log.settleWebhook(row.id, "dropped", row.webhook_attempts);
        continue;
      }
      const attempts = row.webhook_attempts + 1;
      const failure = secret ? await this.#post(url, secret, userId, row) : "SECURITY_WEBHOOK_SECRET is not set";
      if (failure === null) {
        this.log.settleWebhook(row.id, "delivered", attempts);
        continue;
      }
      const gaveUp = attempts >= WEBHOOK_MAX_ATTEMPTS;
      log(gaveUp ? "error" : "warn", "security webhook delivery failed", { event_id: row.id, attempt: attempts, gave_up: gaveUp, failure });
      if (gaveUp) this.log.settleWebhook(row.id, "failed", attempts);
      else this.log.retryWebhook(row.id, attempts, this.deps.now() + Math.min(RETRY_BASE_MS * 2 ** (attempts - 1), RETRY_MAX_MS));
    }
  }

  /** Returns null on a 2xx, otherwise what went wrong (status or error name; never the secret). */
  async #post(url: string, secret: string, userId: string, row: EventRow): Promise<string | null> {
    // Without its extras (a misconfigured secret), the event still goes out: it is the record.
    const extra = await this.deps.extra(row).catch(() => null);
    const body = JSON.stringify({ ...rowJson(row), user_id: userId, ...extra });
    const timestamp = Math.floor(this.deps.now() / 1000);
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "User-Agent": "edge-sessions-webhook/1",
          "Webhook-Id": row.id,
          "Webhook-Timestamp": String(timestamp),
          "Webhook-Signature": await signatureHeader(secret, body, timestamp),
        },
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      await response.body?.cancel();
      return response.status >= 200 && response.status < 300 ? null : `status ${response.status}`;
    } catch (error) {
      return error instanceof Error ? error.name : "fetch failed";
    }
  }
}
