import type { Registry } from "prom-client";
import type { Logger } from "../ops/logger.js";
import { MemoryQueue } from "./memory-queue.js";
import { ThrottledWarning } from "./throttled-warning.js";
import { UrlSender, type WebhookSettings } from "./url-sender.js";
import type { WebhookEvent, WebhookOutbox } from "./webhook-events.js";
import { createWebhookMetrics } from "./webhook-metrics.js";

/**
 * Embedded mode: the primary decides every change on its one host, so it also sends: the outbox it
 * hands to the deciding code queues each event for every URL, and one sender per URL posts it.
 */
export class EmbeddedWebhooks implements WebhookOutbox {
  readonly #queues: MemoryQueue[];
  readonly #senders: UrlSender[];
  readonly #metrics;
  readonly #overflow: ThrottledWarning;

  constructor(settings: WebhookSettings, registry: Registry, logger: Logger) {
    this.#overflow = new ThrottledWarning(logger);
    this.#queues = settings.urls.map(() => new MemoryQueue(settings.maxQueuedEvents));
    this.#metrics = createWebhookMetrics(registry, () => Promise.resolve(this.#queues.reduce((sum, q) => sum + q.length, 0)));
    this.#senders = settings.urls.map((url, i) => new UrlSender(url, this.#queues[i]!, settings, this.#metrics, logger));
  }

  /** Queues `events` for every URL (nothing when webhooks.urls is empty). */
  add(events: readonly WebhookEvent[]): void {
    if (events.length === 0) return;
    for (const queue of this.#queues) {
      this.#metrics.queued.inc(events.length);
      const dropped = queue.add(events);
      if (dropped > 0) {
        this.#metrics.dropped.inc(dropped);
        this.#overflow.warn({ dropped }, "webhook queue full (webhooks.maxQueuedEvents): oldest events dropped");
      }
    }
  }

  start(): void {
    for (const sender of this.#senders) sender.start();
  }

  /** Drain: sends what is queued until `deadline` (ms since the epoch), then stops. */
  async flush(deadline: number): Promise<void> {
    await Promise.all(this.#senders.map((sender) => sender.flush(deadline)));
  }
}
