/**
 * Paces publishes to a target message rate for a fixed time, in batches (one HTTP request per
 * tick), with a bounded number of requests in flight. The rate is computed from elapsed time, so
 * a slow tick is made up by a larger batch on the next one.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { LatencyHistogram } from "./histogram.js";
import { wallClockMs, type BenchPayload } from "./protocol.js";

/** How a server takes a batch publish, or with `single` a one-message publish (`{ channel, event, data }`). */
export interface PublishEndpoint {
  url: string;
  headers: Record<string, string>;
  single?: boolean;
}

export interface PaceOptions {
  messagesPerSecond: number;
  durationMs: number;
  /** Messages go to these channels in turn. */
  channels: string[];
  run: string;
  payloadBytes: number;
  maxBatch: number;
  maxInFlight: number;
  tickMs: number;
  requestTimeoutMs: number;
}

export interface PublishResult {
  /** Messages the server answered 200 for (and did not report as failed inside a batch). */
  accepted: number;
  /** Messages per channel that were accepted, to compute the expected deliveries. */
  acceptedPerChannel: Map<string, number>;
  failed: number;
  requests: number;
  /** Time from sending a batch request to its answer. */
  responseMs: LatencyHistogram;
  firstError?: string;
  elapsedMs: number;
}

/**
 * Positions of the messages a batch answer reports as failed: in its first array (one result per
 * message, in order), the elements carrying `error` or `ok: false`.
 */
function failedPositions(body: unknown): Set<number> {
  const failed = new Set<number>();
  if (typeof body !== "object" || body === null) return failed;
  const results = Object.values(body).find((value): value is unknown[] => Array.isArray(value)) ?? [];
  results.forEach((r, i) => {
    if (typeof r === "object" && r !== null && ("error" in r || (r as { ok?: unknown }).ok === false)) failed.add(i);
  });
  return failed;
}

export async function publishPaced(endpoint: PublishEndpoint, options: PaceOptions): Promise<PublishResult> {
  const result: PublishResult = { accepted: 0, acceptedPerChannel: new Map(), failed: 0, requests: 0, responseMs: new LatencyHistogram(), elapsedMs: 0 };
  const total = Math.round((options.messagesPerSecond * options.durationMs) / 1000);
  const pad = "x".repeat(options.payloadBytes);
  const inFlight = new Set<Promise<void>>();
  let sent = 0;

  const sendBatch = async (channels: string[]): Promise<void> => {
    const data: BenchPayload = { run: options.run, sentAt: wallClockMs(), pad };
    const messages = channels.map((channel) => ({ channel, event: "bench", data }));
    const request = endpoint.single ? messages[0] : { messages };
    result.requests += 1;
    try {
      const response = await fetch(endpoint.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...endpoint.headers },
        body: JSON.stringify(request),
        signal: AbortSignal.timeout(options.requestTimeoutMs),
      });
      const text = await response.text();
      result.responseMs.record(wallClockMs() - data.sentAt);
      if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${text.slice(0, 200)}`);
      const body: unknown = JSON.parse(text);
      const failed = failedPositions(body);
      if (failed.size > 0) result.firstError ??= `batch answer: ${text.slice(0, 200)}`;
      channels.forEach((channel, i) => {
        if (failed.has(i)) return;
        result.accepted += 1;
        result.acceptedPerChannel.set(channel, (result.acceptedPerChannel.get(channel) ?? 0) + 1);
      });
      result.failed += failed.size;
    } catch (err) {
      result.failed += channels.length;
      result.firstError ??= err instanceof Error ? err.message : String(err);
    }
  };

  const started = performance.now();
  while (sent < total) {
    const elapsed = performance.now() - started;
    if (elapsed > options.durationMs + options.requestTimeoutMs) break; // hard bound on the loop
    const due = Math.min(total, Math.floor((options.messagesPerSecond * elapsed) / 1000));
    while (sent < due && inFlight.size < options.maxInFlight) {
      const count = Math.min(endpoint.single ? 1 : options.maxBatch, due - sent);
      const channels = Array.from({ length: count }, (_, i) => options.channels[(sent + i) % options.channels.length]!);
      sent += count;
      const request = sendBatch(channels).finally(() => inFlight.delete(request));
      inFlight.add(request);
    }
    await sleep(options.tickMs);
  }
  await Promise.all(inFlight);
  result.failed += total - sent;
  result.elapsedMs = performance.now() - started;
  return result;
}
