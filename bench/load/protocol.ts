import type { HistogramCounts } from "./histogram.js";

/** The `data` of every bench message: which run it belongs to and when the publisher sent it. */
export interface BenchPayload {
  /** Run tag: subscribers count only messages of the run they were told to measure. */
  run: string;
  /** Publisher's wall clock (ms, sub-ms precision) when the publish request left. */
  sentAt: number;
  pad: string;
}

/** What one client process is asked to open: `channels[i]` is the channel of its i-th connection. */
export interface ClientPlan {
  url: string;
  channels: string[];
  /** Connections being opened at once by this process. */
  concurrency: number;
  /** Bound on connecting (engine and namespace) and on the subscribe ack, each. */
  connectTimeoutMs: number;
  /** Tries per connection before it counts as failed. */
  attempts: number;
}

/** Coordinator → client process. */
export type CoordinatorCommand =
  | { type: "open"; plan: ClientPlan }
  | { type: "measure"; run: string }
  | { type: "count" }
  | { type: "report" }
  | { type: "close" };

export interface ClientReport {
  received: number;
  /** Messages whose offset was not the channel's previous offset + 1 (servers that send offsets). */
  outOfOrder: number;
  disconnects: number;
  /** From the publisher's send to arrival. */
  histogram: HistogramCounts;
  /** From the message's server `ts` to arrival. */
  sinceServerTs: HistogramCounts;
}

/** Client process → coordinator. */
export type ClientEvent =
  | { type: "opened"; connected: number; subscribed: number; failed: number; retried: number; firstError?: string }
  | { type: "measuring" }
  | { type: "count"; received: number }
  | ({ type: "report" } & ClientReport);

/** Wall clock with sub-millisecond precision, comparable across processes of one machine. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}
