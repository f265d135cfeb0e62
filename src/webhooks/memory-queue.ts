import type { WebhookEvent } from "./webhook-events.js";
import type { QueuedBatch, WebhookQueue } from "./webhook-queue.js";

/**
 * Embedded mode: one URL's events in the primary's memory, oldest dropped past `maxEvents`. Only
 * the primary sends from it, so it is always held; a crash of the primary loses it (one host,
 * nothing to hand over to), an orderly stop flushes it first.
 */
export class MemoryQueue implements WebhookQueue {
  #events: WebhookEvent[] = [];
  /** Index of the oldest event still queued: removal advances it instead of shifting the array. */
  #head = 0;
  #dropped = 0;
  #wake: (() => void) | undefined;

  constructor(private readonly maxEvents: number) {}

  get length(): number {
    return this.#events.length - this.#head;
  }

  /** Queues `events`; returns how many old ones were dropped to stay within the bound. */
  add(events: readonly WebhookEvent[]): number {
    this.#events.push(...events);
    const dropped = Math.max(0, this.length - this.maxEvents);
    this.#advance(dropped);
    this.#dropped += dropped;
    this.#wake?.();
    return dropped;
  }

  hold(): Promise<boolean> {
    return Promise.resolve(true);
  }

  peek(max: number): Promise<QueuedBatch> {
    return Promise.resolve({ events: this.#events.slice(this.#head, this.#head + max), droppedBefore: this.#dropped });
  }

  remove(batch: QueuedBatch): Promise<boolean> {
    this.#advance(Math.max(0, batch.events.length - (this.#dropped - batch.droppedBefore)));
    return Promise.resolve(true);
  }

  wait(ms: number, signal: AbortSignal): Promise<void> {
    if (this.length > 0 || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done);
      this.#wake = done;
    });
  }

  release(): Promise<void> {
    return Promise.resolve();
  }

  #advance(count: number): void {
    this.#head = Math.min(this.#events.length, this.#head + count);
    // Compacts once the consumed part is most of the array, so memory follows what is queued.
    if (this.#head > 1024 && this.#head * 2 > this.#events.length) {
      this.#events = this.#events.slice(this.#head);
      this.#head = 0;
    }
  }
}
