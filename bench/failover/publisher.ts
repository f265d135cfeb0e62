/**
 * Publishes one message at a time at a steady rate, spread over the hosts in turn, each carrying
 * a unique sequence number, and records when each was issued and how it was answered.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { FailoverPayload } from "./protocol.js";

export interface PublishTarget {
  /** URL of each host's single-publish endpoint; publish `seq` goes to host `seq mod hosts`. */
  urls: string[];
  headers: Record<string, string>;
  channel: string;
}

export interface PublishOptions {
  perSecond: number;
  maxInFlight: number;
  requestTimeoutMs: number;
}

export interface PublishRecord {
  seq: number;
  host: number;
  issuedAt: number;
  answeredAt: number;
  /** Answered 200: the server says the message will be delivered. */
  acked: boolean;
  /** Why not, when not: "HTTP 503", "TimeoutError", a network error's code. */
  error?: string;
}

export type RunningPublisher = Paced<PublishRecord>;

const TICK_MS = 5;

export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // fetch wraps socket errors: the cause names what happened (ECONNRESET, ECONNREFUSED...).
  const cause = (err as { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === "string" ? cause.code : err.name;
}

async function publishOne(target: PublishTarget, seq: number, host: number, timeoutMs: number): Promise<PublishRecord> {
  const issuedAt = Date.now();
  const data: FailoverPayload = { seq, sentAt: issuedAt };
  try {
    const response = await fetch(target.urls[host]!, {
      method: "POST",
      headers: { "content-type": "application/json", ...target.headers },
      body: JSON.stringify({ channel: target.channel, event: "failover", data }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer();
    const acked = response.status === 200;
    return { seq, host, issuedAt, answeredAt: Date.now(), acked, ...(acked ? {} : { error: `HTTP ${response.status}` }) };
  } catch (err) {
    return { seq, host, issuedAt, answeredAt: Date.now(), acked: false, error: describeError(err) };
  }
}

export interface PacedOptions {
  perSecond: number;
  maxInFlight: number;
  /** The first sequence number: publishers running side by side take disjoint ranges. */
  firstSeq?: number;
}

export interface Paced<R> {
  /** Stops issuing, waits for every answer in flight, and returns every record in seq order. */
  stop(): Promise<R[]>;
}

/**
 * Calls `issue(seq)` at a steady rate from now on. The schedule is kept from elapsed time: a call
 * held back by the in-flight bound goes out as soon as a slot frees, so the average rate holds.
 * `issue` must not reject: it records a failure as its result.
 */
export function startPaced<R extends { seq: number }>(issue: (seq: number) => Promise<R>, options: PacedOptions): Paced<R> {
  const records: R[] = [];
  const inFlight = new Set<Promise<void>>();
  const firstSeq = options.firstSeq ?? 0;
  let stopped = false;
  let issued = 0;

  const loop = (async () => {
    const started = Date.now();
    while (!stopped) {
      const due = Math.floor(((Date.now() - started) * options.perSecond) / 1000);
      while (issued < due && inFlight.size < options.maxInFlight) {
        const request = issue(firstSeq + issued++).then((record) => {
          records.push(record);
          inFlight.delete(request);
        });
        inFlight.add(request);
      }
      await sleep(TICK_MS);
    }
  })();

  return {
    async stop() {
      stopped = true;
      await loop;
      await Promise.all(inFlight);
      return records.sort((a, b) => a.seq - b.seq);
    },
  };
}

/** Publishes to the hosts in turn, one message per request, at once and at a steady rate. */
export function startPublishing(target: PublishTarget, options: PublishOptions): RunningPublisher {
  return startPaced((seq) => publishOne(target, seq, seq % target.urls.length, options.requestTimeoutMs), options);
}
