import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { PusherClient, type PusherClientOptions, type ResyncEvent, type SubscribeOk, type Subscription } from "../../src/client/index.js";
import type { Message, StreamPosition } from "../../src/protocol/messages.js";
import { DEV_API_KEY } from "./pusher.js";
import { MessageCollector } from "./message-collector.js";
import { withTimeout } from "./with-timeout.js";

export interface Ack {
  seq: number;
  position: StreamPosition;
  /** Date.now() when the 200 arrived. */
  at: number;
}

/**
 * Publishes `{ seq }` on one channel at a steady rate, round-robin over `urls`, each with an id so
 * retries are safe, and records which publishes were acknowledged (200) and which failed.
 */
export class SteadyPublisher {
  readonly acks: Ack[] = [];
  readonly failures: Array<{ seq: number; reason: string }> = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly ackWaiters = new Set<{ after: number; resolve: (ack: Ack) => void }>();
  private timer?: NodeJS.Timeout;
  private seq = 0;

  constructor(
    private urls: string[],
    private readonly channel: string,
    private readonly ratePerSecond = 100,
    private readonly apiKey = DEV_API_KEY,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.publishNext(), 1000 / this.ratePerSecond);
  }

  /** Sends further publishes only to these hosts (one was killed). */
  retarget(urls: string[]): void {
    this.urls = urls;
  }

  /** Resolves with the first acknowledgement received after `after` (Date.now()). */
  nextAckAfter(after: number, timeoutMs = 20_000): Promise<Ack> {
    const seen = this.acks.find((a) => a.at > after);
    if (seen) return Promise.resolve(seen);
    return withTimeout(new Promise<Ack>((resolve) => this.ackWaiters.add({ after, resolve })), timeoutMs, "an acknowledged publish");
  }

  /** Waits until the publishes already sent have their answers (e.g. before killing their host). */
  async settled(): Promise<void> {
    await Promise.all(this.inFlight);
  }

  /** Stops publishing and waits until every publish in flight has its answer. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.settled();
  }

  get published(): number {
    return this.seq;
  }

  private publishNext(): void {
    const seq = ++this.seq;
    const url = this.urls[seq % this.urls.length]!;
    const request = this.send(url, seq).finally(() => this.inFlight.delete(request));
    this.inFlight.add(request);
  }

  private async send(url: string, seq: number): Promise<void> {
    try {
      const res = await fetch(`${url}/v1/publish`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${this.apiKey}` },
        body: JSON.stringify({ channel: this.channel, event: "seq", data: { seq }, id: `${this.channel}-seq-${seq}` }),
        signal: AbortSignal.timeout(30_000),
      });
      const body = (await res.json()) as { offsets?: Record<string, StreamPosition> };
      if (res.status !== 200) return void this.failures.push({ seq, reason: `${res.status} ${JSON.stringify(body)}` });
      const ack = { seq, position: body.offsets![this.channel]!, at: Date.now() };
      this.acks.push(ack);
      for (const waiter of this.ackWaiters) {
        if (ack.at > waiter.after) {
          this.ackWaiters.delete(waiter);
          waiter.resolve(ack);
        }
      }
    } catch (err) {
      this.failures.push({ seq, reason: (err as Error).message });
    }
  }
}

/** A subscriber through the client helper (resubscribes with `since` after any reconnect) that records what it gets. */
export class ChannelRecorder {
  readonly received = new MessageCollector();
  readonly messages: Message[] = this.received.messages;
  readonly resyncs: ResyncEvent[] = [];
  readonly client: PusherClient;
  readonly subscription: Subscription;
  /** What the client went through (states, refusals, errors), with times: said when a wait times out. */
  readonly story: string[] = [];

  /** `transports` defaults to websocket only; the client helper's own default is polling, then websocket. */
  constructor(t: TestContext, url: string, channel: string, transports: PusherClientOptions["transports"] = ["websocket"]) {
    this.client = new PusherClient(url, {
      transports,
      reconnect: { defaultDelayMs: 100, jitterMs: 100, maxDelayMs: 500 },
      socketOptions: { reconnectionDelay: 100, reconnectionDelayMax: 500 },
    });
    t.after(() => this.client.close());
    const tell = (what: string): void => void this.story.push(`${new Date().toISOString().slice(11, 23)} ${what}`);
    this.client.on("state", (state, detail) => tell(`${state} ${JSON.stringify(detail)}${state === "connected" ? ` as ${this.client.id}` : ""}`));
    this.client.on("error", (err) => tell(`error ${(err as Error).message}`));
    this.subscription = this.client.subscribe(channel, this.received.add, {
      onResync: (event) => this.resyncs.push(event),
      onError: (error) => tell(`subscribe refused ${error.code} (final: ${error.final})`),
    });
  }

  /** Resolves with the subscription's first acknowledgement. */
  subscribed(timeoutMs = 15_000): Promise<SubscribeOk> {
    return withTimeout(this.subscription.ready, timeoutMs, "a subscribe ack");
  }

  seqs(): number[] {
    return this.messages.map((m) => (m.data as { seq: number }).seq);
  }

  /**
   * Resolves once every sequence number in `seqs` has arrived, or, after a resync (history lost
   * in a failover), once the last of them has.
   */
  async waitForAll(seqs: number[], timeoutMs = 20_000): Promise<void> {
    const done = (): boolean => {
      const have = new Set(this.seqs());
      return this.resyncs.length > 0 ? have.has(Math.max(...seqs)) : seqs.every((s) => have.has(s));
    };
    const missing = (): string => String(seqs.filter((s) => !new Set(this.seqs()).has(s)).slice(0, 20));
    const last = (): string => JSON.stringify(this.messages.at(-1) ?? null);
    await this.received.until(done, timeoutMs, () => `every acknowledged message (missing ${missing()}; last ${last()}; client: ${this.story.join(" | ")})`);
  }
}

/**
 * The guarantee (DESIGN §5): in each epoch the messages arrive in offset order with no hole and
 * none twice; an epoch changes only after a `resync` notice (history lost in the failover: writes
 * Redis acknowledged but had not replicated); and every acknowledged message of the epoch the
 * subscriber ends in arrived exactly once, at the position its publish was told. Without any
 * resync, that is every acknowledged message. Returns how many resyncs the subscriber was told.
 */
export function assertDeliveryGuarantee(recorder: ChannelRecorder, acks: Ack[], label: string): number {
  const { messages, resyncs } = recorder;
  messages.forEach((m, i) => {
    const previous = messages[i - 1];
    if (!previous || previous.epoch !== m.epoch) return;
    assert.equal(m.offset, previous.offset + 1, `${label}: offset ${m.offset} after ${previous.offset} in epoch ${m.epoch}; resyncs ${JSON.stringify(resyncs)}; client: ${recorder.story.join(" | ")}`);
  });
  const epochs = [...new Set(messages.map((m) => m.epoch))];
  for (const epoch of epochs.slice(1)) {
    assert.ok(resyncs.some((r) => r.epoch === epoch), `${label}: epoch ${epoch} began without a resync notice`);
  }
  const finalEpoch = epochs.at(-1);
  const expected = resyncs.length === 0 ? acks : acks.filter((a) => a.position.epoch === finalEpoch);
  for (const ack of expected) {
    const copies = messages.filter((m) => m.epoch === ack.position.epoch && (m.data as { seq: number }).seq === ack.seq);
    assert.equal(copies.length, 1, `${label}: acknowledged seq ${ack.seq} arrived ${copies.length} times`);
    assert.equal(copies[0]!.offset, ack.position.offset, `${label}: seq ${ack.seq} arrived at another offset than acknowledged`);
  }
  return resyncs.length;
}
