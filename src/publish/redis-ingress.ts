import os from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import type { Broker, PublishRequest } from "../broker/broker.js";
import type { Logger } from "../ops/logger.js";
import { ClientReady } from "../redis-client/client-ready.js";
import { ConnectionLoss } from "../redis-client/connection-loss.js";
import { parseBoundedJson } from "../protocol/bounded-json.js";
import { PUBLISH_ENVELOPE_DEPTH, publishRequestFrom, type PayloadLimits } from "./publish-request.js";
import { releaseRedisClient } from "../redis-client/connections.js";
import { IngressLease, type LeaderRead } from "./ingress-lease.js";

export interface RedisIngressOptions {
  /** A connection of its own: XREAD BLOCK holds it. */
  client: Redis;
  broker: Broker;
  keyPrefix: string;
  limits: PayloadLimits;
  /**
   * How long the reading worker's lease lives unrenewed before another worker takes over the
   * ingress (it died or lost Redis); entries a consumer read and left unacknowledged this long are
   * published by the reader.
   */
  claimIdleMs: number;
  logger: Logger;
}

type Entry = [id: string, fields: string[]];

/** The consumer group the reading worker reads the ingress in (docs/publishing.md names it). */
export const INGRESS_GROUP = "pusher";
/** Entries per read: one publish (one script run) and one XACK carry them all. */
const READ_COUNT = 1000;
/** How long one wait for new entries blocks; the ingress socket timeout must exceed it. */
export const INGRESS_BLOCK_MS = 1000;
const RELEASE_WAIT_MS = 500;

/**
 * The Redis-only way in (DESIGN §4): backends `XADD <prefix>ingress * message <publish body JSON>`.
 * One worker of the deployment at a time reads the stream (IngressLease), in batches, in one
 * consumer group, and publishes each batch with one broker call before it reads the next: entries
 * of a channel are published in the order they were appended. An entry is acknowledged only after
 * its publish succeeded, and is published with the id `ingress:<entry ID>` (or its own `id`).
 * Whoever takes over reading (a new lease holder, or the holder after a failed publish) first
 * publishes again every entry still pending, oldest first, before any new one: the ids make the
 * ones already published no-ops, so nothing is delivered twice or out of order. Entries that are
 * not valid publish bodies go to `<prefix>ingress:dead` with the reason.
 */
export class RedisIngress {
  private readonly stream: string;
  private readonly consumer = `${os.hostname()}-${process.pid}`;
  private readonly ready: ClientReady;
  private readonly loss: ConnectionLoss;
  private readonly lease: IngressLease;
  private readonly stopped = new AbortController();
  private closed = false;
  private leading = false;
  private running?: Promise<void>;
  /** The next batch, read while the previous one is published. */
  private prefetched?: Promise<LeaderRead> | undefined;
  private lastClaim = 0;

  constructor(private readonly options: RedisIngressOptions) {
    this.stream = `${options.keyPrefix}ingress`;
    this.ready = new ClientReady(options.client);
    this.loss = new ConnectionLoss(options.client);
    // Renewed at least once per wait for new entries, so it must outlast a few of them.
    this.lease = new IngressLease(options.client, `${this.stream}:lease`, this.consumer, Math.max(options.claimIdleMs, 3 * INGRESS_BLOCK_MS));
  }

  start(): void {
    this.running = this.loop();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopped.abort();
    this.ready.cancel();
    // Lets another worker take over now rather than after the lease lapses (a rolling restart);
    // bounded, since a Redis that is down would hold the command forever.
    if (this.leading) await Promise.race([this.lease.release().catch(() => undefined), sleep(RELEASE_WAIT_MS, undefined, { ref: false })]);
    releaseRedisClient(this.options.client);
    await this.running;
  }

  private async loop(): Promise<void> {
    const { logger, claimIdleMs } = this.options;
    let groupExists = false;
    // Set whenever entries may be pending ahead of the new ones: taking the lease, a failed publish.
    let replayPending = true;
    while (!this.closed) {
      try {
        if (!(await this.ready.wait())) return;
        if (!groupExists) await this.createGroup();
        groupExists = true;
        if (!this.leading) {
          this.leading = await this.loss.guard(this.lease.acquire());
          if (!this.leading) {
            await this.pause(Math.min(INGRESS_BLOCK_MS, claimIdleMs / 4));
            continue;
          }
          logger.info("this worker now reads the Redis ingress");
          replayPending = true;
        }
        if (replayPending || Date.now() - this.lastClaim >= claimIdleMs / 2) {
          await this.claimPending(replayPending ? 0 : claimIdleMs);
          replayPending = false;
        }
        const read = await (this.prefetched ?? this.readBatch());
        this.prefetched = undefined;
        if (read.lost) {
          this.leading = false;
          logger.info("another worker reads the Redis ingress now");
        } else if (read.entries.length > 0) {
          // The next batch is read while this one is published; it is published only after this one.
          this.prefetched = this.readBatch();
          this.prefetched.catch(() => undefined);
          await this.publish(read.entries);
        } else {
          await this.loss.guard(this.options.client.xread("BLOCK", INGRESS_BLOCK_MS, "STREAMS", this.stream, read.lastId));
        }
      } catch (err) {
        if (this.closed) return;
        // The group went with the master's data (an empty server promoted after a failover):
        // without it again, no entry appended since would ever be read.
        if (/NOGROUP/.test((err as Error).message)) groupExists = false;
        // Asks for the lease again before replaying: another worker may have taken over meanwhile.
        this.leading = false;
        replayPending = true;
        // Whatever a read in flight takes becomes pending: the replay must find it.
        await this.prefetched?.catch(() => undefined);
        this.prefetched = undefined;
        logger.warn({ err: (err as Error).message }, "ingress read interrupted; retrying");
        await this.pause(INGRESS_BLOCK_MS / 10);
      }
    }
  }

  private readBatch(): Promise<LeaderRead> {
    return this.loss.guard(this.lease.read(this.stream, INGRESS_GROUP, READ_COUNT));
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.stopped.signal }).catch(() => undefined);
  }

  /** From the stream's start, so entries written before any pusher ran are published too. */
  private async createGroup(): Promise<void> {
    try {
      await this.loss.guard(this.options.client.call("XGROUP", "CREATE", this.stream, INGRESS_GROUP, "0", "MKSTREAM"));
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
  }

  /** Publishes the entries read and not acknowledged (by this worker or one that died), oldest first. */
  private async claimPending(minIdleMs: number): Promise<void> {
    const { client } = this.options;
    this.lastClaim = Date.now();
    let cursor = "0-0";
    do {
      const [next, entries] = (await this.loss.guard(client.call("XAUTOCLAIM", this.stream, INGRESS_GROUP, this.consumer, minIdleMs, cursor, "COUNT", READ_COUNT))) as [string, (Entry | null)[]];
      const live = entries.filter((e): e is Entry => e !== null);
      if (live.length > 0) {
        this.options.logger.info({ entries: live.length }, "publishing ingress entries read before and not acknowledged");
        await this.publish(live);
      }
      cursor = next;
    } while (cursor !== "0-0" && !this.closed);
  }

  private async publish(entries: Entry[]): Promise<void> {
    const { client, broker, limits, logger } = this.options;
    const requests: PublishRequest[] = [];
    const published: string[] = [];
    const rejected: Array<{ id: string; raw: string; error: string }> = [];
    for (const [id, fields] of entries) {
      const raw = fieldValue(fields, "message");
      try {
        if (raw === undefined) throw new Error('no "message" field');
        const request = publishRequestFrom(parseBoundedJson(raw, limits.maxPayloadDepth, PUBLISH_ENVELOPE_DEPTH, "message"), limits);
        requests.push({ ...request, id: request.id ?? `ingress:${id}` });
        published.push(id);
      } catch (err) {
        rejected.push({ id, raw: raw ?? "", error: (err as Error).message });
      }
    }
    if (requests.length > 0) {
      const outcomes = await broker.publish(requests);
      const failed = outcomes.find((o) => !o.ok);
      // Unacknowledged entries stay pending and are claimed again after claimIdleMs.
      if (failed && !failed.ok) throw failed.error;
    }
    const pipeline = client.multi();
    for (const { id, raw, error } of rejected) {
      logger.warn({ entry: id, error }, "ingress entry is not a valid publish; moved to the dead-letter stream");
      pipeline.xadd(`${this.stream}:dead`, "*", "entry", id, "error", error, "message", raw);
    }
    pipeline.xack(this.stream, INGRESS_GROUP, ...published, ...rejected.map((r) => r.id));
    await this.loss.guard(pipeline.exec());
  }
}

function fieldValue(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}
