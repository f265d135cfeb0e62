/** IPC between the failover coordinator and its subscriber processes, and the published payload. */
import type { Transport } from "../../src/config/schema.js";

/** The `data` of every failover message. */
export interface FailoverPayload {
  /** Unique within a round: what subscribers report and the publisher's answers are matched on. */
  seq: number;
  /** Publisher's clock (Date.now()) when the request left. */
  sentAt: number;
}

/**
 * `pusher`: the client helper, which resubscribes with `since` after any reconnect and drops
 * replays. `socket.io`: a plain socket.io client that joins the room again on every connect.
 */
export type SubscriberClient = "pusher" | "socket.io";

export type Transports = Transport[];

export interface SubscriberPlan {
  url: string;
  /** Subscribers are spread over every channel × transport × address (see subscriber-process.ts). */
  channels: string[];
  transports: Transports[];
  /** Loopback source addresses (127.x.y.z) to connect from, so a `hash $remote_addr` proxy spreads them. */
  localAddresses?: string[];
  count: number;
  client: SubscriberClient;
  connectTimeoutMs: number;
}

/** An acknowledged message every subscriber of its channel is owed; its position when the answer gave it. */
export interface AckedMessage {
  seq: number;
  channel: string;
  epoch?: string;
  offset?: number;
}

export interface SubscriberReport {
  /** Acknowledged seqs that some subscribers of this process never received, with how many of them. */
  lost: Array<[seq: number, missedBy: number]>;
  /** (subscriber, acknowledged seq) pairs never received. */
  missedDeliveries: number;
  /** Of those, the pairs the subscriber was told nothing about (no resync or `recovered: false` covering them). */
  silentMisses: number;
  /** Distinct seqs missed silently by at least one subscriber. */
  silentLost: number[];
  /** Messages a subscriber's application saw more than once. */
  duplicates: number;
  /** A few of them, "#seq at epoch:offset, first at epoch:offset" (positions only where the server sends them). */
  duplicateSamples: string[];
  /** Gaps the pusher client was told of (resync): missed, but not silently. */
  resyncs: number;
  /** Resyncs by reason ("epoch_changed", "gap"). */
  resyncReasons: Record<string, number>;
  /** The first of them, "reason: from epoch:offset to epoch:offset". */
  firstResync?: string;
  disconnects: number;
  /** The longest any subscriber waited between two deliveries, in ms. */
  longestGapMs: number;
  /** Subscribers not connected when the report was taken (still reconnecting: whatever they missed, they may yet recover). */
  notConnected: number;
  /** The subscribers that missed the most, described ("polling from 127.0.1.3 on ch: missed 212, last delivery +3.1 s, connected"). */
  worstMissers: string[];
  /** Earliest arrival (Date.now()) of each seq at any subscriber of this process. */
  firstArrival: Array<[seq: number, at: number]>;
  firstError?: string;
}

/** Coordinator → subscriber process. */
export type SubscriberCommand =
  | { type: "open"; plan: SubscriberPlan }
  /** Counts what is missing of the acknowledged messages, given once (`acked`) and kept for later asks. */
  | { type: "missing"; acked?: AckedMessage[] }
  | { type: "report" }
  | { type: "close" };

/** Subscriber process → coordinator. */
export type SubscriberEvent =
  | { type: "opened"; subscribed: number; firstError?: string }
  | { type: "missing"; missedDeliveries: number }
  | ({ type: "report" } & SubscriberReport);
