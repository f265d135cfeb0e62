import type { WebhookEvent } from "./webhook-events.js";

/**
 * The events waiting for one URL, oldest first: in the primary's memory (embedded mode) or in a
 * Redis list (Redis modes). Events leave only once a post of them was acknowledged, so a sender
 * that dies mid-post leaves them for the next one: at least once.
 */
/** Events read from a queue's head, with what is needed to remove exactly them later. */
export interface QueuedBatch {
  events: WebhookEvent[];
  /** The queue's count of events dropped (past its bound) when the batch was read. */
  droppedBefore: number;
}

export interface WebhookQueue {
  /** True while this process may send from the queue (Redis: it holds the URL's lease). */
  hold(): Promise<boolean>;
  /** Up to `max` events from the head, left in place. */
  peek(max: number): Promise<QueuedBatch>;
  /**
   * Removes the batch's events once acknowledged, minus those that the bound dropped from the head
   * meanwhile; false when the lease was lost meanwhile.
   */
  remove(batch: QueuedBatch): Promise<boolean>;
  /** Resolves when events may have arrived, after `ms`, or when `signal` aborts. */
  wait(ms: number, signal: AbortSignal): Promise<void>;
  /** Gives the queue up (Redis: releases the lease so another host takes over at once). */
  release(): Promise<void>;
}
