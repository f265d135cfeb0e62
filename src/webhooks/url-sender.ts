import { setTimeout as sleep } from "node:timers/promises";
import type { PusherConfig } from "../config/schema.js";
import type { Logger } from "../ops/logger.js";
import { ThrottledWarning } from "./throttled-warning.js";
import { retryDelayMs } from "./retry-delay.js";
import type { WebhookEvent } from "./webhook-events.js";
import type { WebhookMetrics } from "./webhook-metrics.js";
import { postWebhook, urlForLogs } from "./webhook-post.js";
import type { WebhookQueue } from "./webhook-queue.js";

/** How often a flush looks whether the queue is empty yet. */
const FLUSH_POLL_MS = 20;

export type WebhookSettings = PusherConfig["webhooks"];

/**
 * Sends one URL's queue: gathers a batch, posts it until a 2xx (backing off with jitter), then
 * drops it from the queue. Each URL has its own sender and queue, so a slow or dead URL delays
 * only its own events; its queue is bounded by webhooks.maxQueuedEvents.
 */
export class UrlSender {
  readonly #url: string;
  readonly #queue: WebhookQueue;
  readonly #settings: WebhookSettings;
  readonly #metrics: WebhookMetrics;
  readonly #logger: Logger;
  #stopping = false;
  /** Aborts the pause or post in flight when the sender stops. */
  readonly #stop = new AbortController();
  /** Cuts the gathering pause short when a flush begins. */
  readonly #hurry = new AbortController();
  #running: Promise<void> | undefined;
  /** While flushing (drain), batches go at once, without gathering. */
  #flushing = false;
  readonly #failures: ThrottledWarning;

  constructor(url: string, queue: WebhookQueue, settings: WebhookSettings, metrics: WebhookMetrics, logger: Logger) {
    this.#url = url;
    this.#queue = queue;
    this.#settings = settings;
    this.#metrics = metrics;
    this.#logger = logger.child({ url: urlForLogs(url) });
    this.#failures = new ThrottledWarning(this.#logger);
  }

  start(): void {
    this.#running ??= this.#loop().catch((err: unknown) => this.#logger.error({ err }, "webhook sender stopped by an error"));
  }

  /** Stops after the post in flight; what was not acknowledged stays queued. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#stop.abort();
    await this.#running;
    await this.#queue.release().catch(() => undefined);
  }

  /** Sends without gathering until the queue is empty or `deadline` (ms since the epoch) passes, then stops. */
  async flush(deadline: number): Promise<void> {
    this.#flushing = true;
    this.#hurry.abort();
    const timer = setTimeout(() => {
      this.#stopping = true;
      this.#stop.abort();
    }, Math.max(0, deadline - Date.now()));
    try {
      while (!this.#stopping && (await this.#queue.peek(1)).events.length > 0) await this.#pause(FLUSH_POLL_MS);
    } finally {
      clearTimeout(timer);
      await this.stop();
    }
  }

  async #loop(): Promise<void> {
    const { batchWaitMs } = this.#settings;
    const batchMaxEvents = Math.max(1, this.#settings.batchMaxEvents);
    while (!this.#stopping) {
      try {
        if (!(await this.#queue.hold())) {
          await this.#pause(batchWaitMs);
          continue;
        }
        let batch = await this.#queue.peek(batchMaxEvents);
        if (batch.events.length === 0) {
          await this.#queue.wait(batchWaitMs, this.#stop.signal);
          continue;
        }
        if (batch.events.length < batchMaxEvents && !this.#flushing) {
          await this.#pause(batchWaitMs, this.#hurry.signal);
          batch = await this.#queue.peek(batchMaxEvents);
        }
        if (batch.events.length > 0 && (await this.#post(batch.events)) && (await this.#queue.remove(batch))) this.#metrics.sent.inc(batch.events.length);
      } catch (err) {
        // Redis unreachable (failover): the queue stays where it is; try again shortly.
        this.#failure(`queue unavailable: ${err instanceof Error ? err.message : String(err)}`);
        await this.#pause(batchWaitMs);
      }
    }
  }

  /** Posts until acknowledged; false when it gave up because it stopped or lost the queue. */
  async #post(events: readonly WebhookEvent[]): Promise<boolean> {
    const { secret, requestTimeoutMs, retryMinMs, retryMaxMs } = this.#settings;
    for (let attempt = 0; ; attempt++) {
      const end = this.#metrics.postSeconds.startTimer();
      const outcome = await postWebhook(this.#url, events, secret, AbortSignal.any([AbortSignal.timeout(requestTimeoutMs), this.#stop.signal]));
      end();
      if (outcome.ok) return true;
      if (this.#stopping) return false;
      this.#metrics.failedPosts.inc();
      const delay = retryDelayMs(attempt, retryMinMs, retryMaxMs);
      this.#failure(`post failed (${outcome.reason}); retrying in ${delay} ms`, events.length);
      await this.#pause(delay);
      if (this.#stopping || !(await this.#queue.hold())) return false;
    }
  }

  /** Waits `ms`, or less when the sender stops (or `also` aborts). */
  #pause(ms: number, also?: AbortSignal): Promise<void> {
    const signal = also ? AbortSignal.any([this.#stop.signal, also]) : this.#stop.signal;
    return sleep(ms, undefined, { signal }).catch(() => undefined);
  }

  #failure(msg: string, events?: number): void {
    this.#failures.warn({ events }, `webhook ${msg}`);
  }
}
