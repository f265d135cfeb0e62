import type { PusherError } from "../protocol/errors.js";
import type { Message, PublishOffsets, StreamPosition } from "../protocol/messages.js";

/** One message to publish on one or more channels (the validated body of a publish). */
export interface PublishRequest {
  channels: string[];
  event: string;
  data: unknown;
  /** Idempotency key: a repeated id inside the dedup window returns the first offsets, delivers nothing. */
  id?: string;
}

export type PublishOutcome = { ok: true; offsets: PublishOffsets } | { ok: false; error: PusherError };

/** A channel's head, and what a subscriber that holds `since` missed. */
export interface HistoryResult {
  head: StreamPosition;
  /** Messages after `since`, oldest first; empty without `since` or when not recovered. */
  messages: Message[];
  /** False when `since` cannot be honoured: other epoch, trimmed or expired history, or a future offset. */
  recovered: boolean;
}

/**
 * The seam between workers and the message backend. The embedded backend (the primary sequences,
 * over IPC) and the Redis backend implement it; test/broker runs one suite against each.
 */
export interface Broker {
  /**
   * Sequences each request: assigns every channel its next offset, appends to history, fans out.
   * Resolves once the messages are durable at the configured level, or fails with `unavailable` no
   * later than publish.timeoutMs after `arrivedAt` (default: now), when the publisher's request
   * arrived. One outcome per request, in order.
   */
  publish(requests: PublishRequest[], arrivedAt?: number): Promise<PublishOutcome[]>;
  /** Reads a channel's head and, with `since`, the messages after it. */
  history(channel: string, since?: StreamPosition): Promise<HistoryResult>;
  /** Sets the fan-out consumer: every published message, in offset order per channel. */
  onMessages(handler: (messages: Message[]) => void): void;
  /**
   * Sets the consumer of lost-history notices: the channel's messages continue in a new epoch from
   * `head` (a failover lost writes that subscribers may hold). The embedded backend never loses history.
   */
  onReset(handler: (channel: string, head: StreamPosition) => void): void;
  /** Resolves once the fan-out reaches this process; the worker reports ready after it. */
  start(): Promise<void>;
  /** Resolves when a canary has travelled the whole publish → fan-out path back to this process. */
  probe(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}
