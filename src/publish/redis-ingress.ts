import os from "node:os";
import type { Redis } from "ioredis";
import type { Broker, PublishRequest } from "../broker/broker.js";
import type { Logger } from "../ops/logger.js";
import { ClientReady } from "../redis-client/client-ready.js";
import { ConnectionLoss } from "../redis-client/connection-loss.js";
import { parseBoundedJson } from "../protocol/bounded-json.js";
import { PUBLISH_ENVELOPE_DEPTH, publishRequestFrom, type PayloadLimits } from "./publish-request.js";
import { releaseRedisClient } from "../redis-client/connections.js";

export interface RedisIngressOptions {
  /** A connection of its own: XREADGROUP BLOCK holds it. */
  client: Redis;
  broker: Broker;
  keyPrefix: string;
  limits: PayloadLimits;
  /** Entries another consumer has held unacknowledged this long are taken over (that worker died). */
  claimIdleMs: number;
  logger: Logger;
}

type Entry = [id: string, fields: string[]];

/** The consumer group every worker reads the ingress in (docs/publishing.md names it). */
const INGRESS_GROUP = "pusher";
const READ_COUNT = 100;
/** How long one XREADGROUP waits; the ingress socket timeout must exceed it. */
export const INGRESS_BLOCK_MS = 1000;

/**
 * The Redis-only way in (DESIGN §4): backends `XADD <prefix>ingress * message <publish body JSON>`.
 * Every worker reads the stream in one consumer group; an entry is acknowledged only after its
 * publish succeeded, and is published with the id `ingress:<entry ID>` (or its own `id`), so an
 * entry taken over from a worker that died between publishing and acknowledging is not delivered
 * twice. Entries that are not valid publish bodies go to `<prefix>ingress:dead` with the reason.
 */
export class RedisIngress {
  private readonly stream: string;
  private readonly consumer = `${os.hostname()}-${process.pid}`;
  private readonly ready: ClientReady;
  private readonly loss: ConnectionLoss;
  private closed = false;
  private running?: Promise<void>;
  private lastClaim = 0;

  constructor(private readonly options: RedisIngressOptions) {
    this.stream = `${options.keyPrefix}ingress`;
    this.ready = new ClientReady(options.client);
    this.loss = new ConnectionLoss(options.client);
  }

  start(): void {
    this.running = this.loop();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.ready.cancel();
    releaseRedisClient(this.options.client);
    await this.running;
  }

  private async loop(): Promise<void> {
    const { client, logger } = this.options;
    let groupExists = false;
    while (!this.closed) {
      try {
        if (!(await this.ready.wait())) return;
        if (!groupExists) await this.createGroup();
        groupExists = true;
        await this.claimAbandoned();
        const reply = await this.loss.guard(client.xreadgroup("GROUP", INGRESS_GROUP, this.consumer, "COUNT", READ_COUNT, "BLOCK", INGRESS_BLOCK_MS, "STREAMS", this.stream, ">"));
        const entries = (reply as [string, Entry[]][] | null)?.[0]?.[1] ?? [];
        if (entries.length > 0) await this.publish(entries);
      } catch (err) {
        if (this.closed) return;
        logger.warn({ err: (err as Error).message }, "ingress read interrupted; retrying");
        await new Promise((resolve) => setTimeout(resolve, INGRESS_BLOCK_MS / 10));
      }
    }
  }

  /** From the stream's start, so entries written before any pusher ran are published too. */
  private async createGroup(): Promise<void> {
    try {
      await this.loss.guard(this.options.client.call("XGROUP", "CREATE", this.stream, INGRESS_GROUP, "0", "MKSTREAM"));
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
  }

  /** Takes over what a dead worker read and never acknowledged, oldest first. */
  private async claimAbandoned(): Promise<void> {
    const { client, claimIdleMs } = this.options;
    if (Date.now() - this.lastClaim < claimIdleMs / 2) return;
    this.lastClaim = Date.now();
    let cursor = "0-0";
    do {
      const [next, entries] = (await this.loss.guard(client.call("XAUTOCLAIM", this.stream, INGRESS_GROUP, this.consumer, claimIdleMs, cursor, "COUNT", READ_COUNT))) as [string, (Entry | null)[]];
      const live = entries.filter((e): e is Entry => e !== null);
      if (live.length > 0) {
        this.options.logger.info({ entries: live.length }, "took over ingress entries a worker left unacknowledged");
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
