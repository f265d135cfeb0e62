import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { TestContext } from "node:test";
import type { Transport } from "../../src/config/schema.js";
import { retryUntil } from "../../src/redis-client/retry-until.js";
import { startNginx, type NginxProxy } from "./nginx.js";
import { connectionCount, startPusher, type PusherHost, type StartOptions } from "./pusher.js";
import { startRedis } from "./redis-topology.js";
import { assertDeliveryGuarantee, ChannelRecorder, SteadyPublisher } from "./steady-traffic.js";

export type TransportMix = Transport[];

/** What browsers use: websocket alone, the default polling-then-upgrade, and polling alone. */
export const TRANSPORT_MIXES: TransportMix[] = [["websocket"], ["polling", "websocket"], ["polling"]];

export interface Fleet {
  /** Two pusher hosts sharing one Redis; a test that restarts one puts the new one in its place. */
  hosts: PusherHost[];
  proxy: NginxProxy;
  /** How the hosts were started: with `port`, the same for a replacement. */
  hostOptions: StartOptions;
}

/** Two pusher hosts (standalone Redis, one shared) behind a real nginx running the shipped config. */
export async function startFleet(t: TestContext, workers: number): Promise<Fleet> {
  const redis = await startRedis(t);
  const hostOptions = { workers, env: { PUSHER_REDIS_MODE: "standalone", PUSHER_REDIS_URL: `redis://${redis.address}` } };
  const hosts = await Promise.all([startPusher(t, hostOptions), startPusher(t, hostOptions)]);
  const proxy = await startNginx(t, hosts.map((host) => host.port));
  return { hosts, proxy, hostOptions };
}

/**
 * The index of the host holding all `count` connections, the others none. Every test client
 * comes from 127.0.0.1, so `hash $remote_addr` must put them all on one host.
 */
export async function hostHoldingAll(hosts: PusherHost[], count: number, timeoutMs = 10_000): Promise<number> {
  return retryUntil(
    async () => {
      const counts = await Promise.all(hosts.map((host) => connectionCount(host)));
      const holder = counts.indexOf(count);
      if (holder < 0 || counts.some((c, i) => i !== holder && c !== 0)) {
        throw new Error(`expected one host to hold all ${count} connections through nginx, the others none; connections per host: ${counts.join(", ")}`);
      }
      return holder;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

interface Subscriber {
  recorder: ChannelRecorder;
  label: string;
  transports: TransportMix;
  /** The channel head when it subscribed: it is owed every acknowledged message after that. */
  head: number;
  /** How long each loss of the connection lasted until the next connect, in ms. */
  outages: number[];
}

/**
 * Subscribers through nginx on several channels, one per transport mix and channel, and one
 * steady publisher per channel sending straight to the hosts (backends need no nginx).
 */
export class FleetTraffic {
  readonly subscribers: Subscriber[] = [];
  readonly publishers = new Map<string, SteadyPublisher>();

  private constructor(
    private readonly t: TestContext,
    private readonly proxyUrl: string,
  ) {}

  static async start(t: TestContext, fleet: Fleet, { channels = 3, ratePerSecond = 40 } = {}): Promise<FleetTraffic> {
    const traffic = new FleetTraffic(t, fleet.proxy.url);
    const names = Array.from({ length: channels }, (_, i) => `nginx-${i}-${randomUUID().slice(0, 8)}`);
    await Promise.all(names.flatMap((channel) => TRANSPORT_MIXES.map((transports) => traffic.subscribe(channel, transports))));
    for (const channel of names) {
      const publisher = new SteadyPublisher(fleet.hosts.map((host) => host.url), channel, ratePerSecond);
      traffic.publishers.set(channel, publisher);
      // A failed test must not leave the publishing timers holding the test process open.
      t.after(() => publisher.stop());
      publisher.start();
    }
    await traffic.nextAcks();
    return traffic;
  }

  get recorders(): ChannelRecorder[] {
    return this.subscribers.map((s) => s.recorder);
  }

  /** One more client through nginx, subscribed (resolves once acknowledged). */
  async subscribe(channel: string, transports: TransportMix): Promise<ChannelRecorder> {
    const recorder = new ChannelRecorder(this.t, this.proxyUrl, channel, transports);
    const ack = await recorder.subscribed();
    const outages: number[] = [];
    let lostAt: number | undefined;
    recorder.client.on("state", (state) => {
      if (state === "connected" && lostAt !== undefined) outages.push(Date.now() - lostAt);
      if (state === "connected") lostAt = undefined;
      else lostAt ??= Date.now();
    });
    this.subscribers.push({ recorder, label: `${channel} over ${transports.join("+")}`, transports, head: ack.offset, outages });
    return recorder;
  }

  /** Resolves once every channel has a publish acknowledged after `delayMs` from now. */
  async nextAcks(delayMs = 500): Promise<void> {
    const after = Date.now() + delayMs;
    await Promise.all([...this.publishers.values()].map((p) => p.nextAckAfter(after)));
  }

  /** Publishes go to `urls` only from now on; resolves once none is in flight elsewhere. */
  async retarget(urls: string[]): Promise<void> {
    for (const publisher of this.publishers.values()) publisher.retarget(urls);
    await Promise.all([...this.publishers.values()].map((p) => p.settled()));
  }

  /**
   * Stops publishing; then no publish may have failed, and every subscriber must get every
   * message acknowledged after it subscribed exactly once, in offset order, with no resync (Redis
   * kept everything). Then the clients are closed, so the hosts' teardown has nobody to drain.
   */
  async stopAndAssertDelivered(): Promise<void> {
    await Promise.all([...this.publishers.values()].map((p) => p.stop()));
    for (const [channel, publisher] of this.publishers) {
      assert.deepEqual(publisher.failures, [], `publishes to ${channel} failed`);
      assert.ok(publisher.acks.length > 0, `nothing was acknowledged on ${channel}`);
    }
    await Promise.all(
      this.subscribers.map(async ({ recorder, label, head }) => {
        const owed = this.publishers.get(recorder.subscription.channel)!.acks.filter((ack) => ack.position.offset > head);
        await recorder.waitForAll(owed.map((ack) => ack.seq));
        assert.equal(assertDeliveryGuarantee(recorder, owed, label), 0, `${label} was told to resync`);
      }),
    );
    for (const { recorder } of this.subscribers) recorder.client.close();
  }
}
