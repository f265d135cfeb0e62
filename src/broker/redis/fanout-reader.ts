import { setTimeout as delay } from "node:timers/promises";
import type { Redis } from "ioredis";
import { ClientReady } from "../../redis-client/client-ready.js";
import { ConnectionLoss } from "../../redis-client/connection-loss.js";
import { onTheMaster, type MasterCheck } from "../../redis-client/master-check.js";
import type { Logger } from "../../ops/logger.js";
import type { Message, StreamPosition } from "../../protocol/messages.js";
import type { HistoryResult } from "../broker.js";
import type { DeliveredPositions } from "./delivered-positions.js";
import { decodeFanoutEntry, type StreamEntry } from "./fanout-entries.js";
import { ReadTrail } from "./read-trail.js";
import { releaseRedisClient, serverAddress } from "../../redis-client/connections.js";

export interface FanoutReaderOptions {
  /** A connection of its own: XREAD BLOCK holds it. */
  client: Redis;
  key: string;
  positions: DeliveredPositions;
  masterCheck?: MasterCheck;
  fillGap(channel: string, since: StreamPosition): Promise<HistoryResult>;
  deliver(messages: Message[]): void;
  /** A delivered offset came back with another message: the channel's history diverged. */
  onReusedOffset(message: Message): Promise<void>;
  onProbe(nonce: string): void;
  /** A channel state signal (member change, client event): no offset, so nothing to judge. */
  onSignal(json: string): void;
  /** Seconds between the broker accepting the newest message of a read and its delivery here. */
  onLag(seconds: number): void;
  logger: Logger;
}

/** How long one XREAD waits for entries; the reader's socket timeout must exceed it. */
export const FANOUT_BLOCK_MS = 1000;
const READ_COUNT = 1000;
const RETRY_PAUSE_MS = 100;
/** Far more than a failover loses or a demoted master writes late; beyond it the reader re-reads the stream. */
const TRAIL_LENGTH = 1024;
/** Entries fetched per step of the walk back to the place a new master shares with this reader. */
const WALK_PAGE = 128;

/**
 * Reads the fan-out stream from this worker's last position, for ever: after a reconnect (a
 * failover, a restarted Redis) it resumes after the last entry it read that the new master also
 * holds, so nothing written there is skipped, and DeliveredPositions drops what it re-reads.
 */
export class FanoutReader {
  private lastId = "0-0";
  private closed = false;
  private running?: Promise<void>;
  /** The batch being delivered, while handle() waits on something (a gap's history read). */
  private handling: Promise<void> | undefined;
  /** Counts the client's closed connections: `lastId` is a place in the stream of the one it was located on. */
  private connections = 0;
  private locatedOn = -1;
  private readonly trail = new ReadTrail(TRAIL_LENGTH);
  private readonly ready: ClientReady;
  private readonly loss: ConnectionLoss;
  /** Pending while the reader does not know where it reads from (at start, and after a lost connection). */
  private located: Promise<void>;
  private markLocated!: () => void;

  constructor(private readonly options: FanoutReaderOptions) {
    this.ready = new ClientReady(options.client);
    this.loss = new ConnectionLoss(options.client);
    this.located = this.unlocated();
    options.client.on("close", () => this.connections++);
  }

  /**
   * Resolves once the reader reads from a known place in the stream. A history read must wait
   * for it: its head is only a safe join point if every later message is read after it, and a
   * reader that locates the stream's end after the read skips what was written in between (a
   * respawned worker took its predecessor's clients while still connecting: they resynced).
   */
  positioned(): Promise<void> {
    return this.located;
  }

  /**
   * Resolves once no batch read earlier is still being delivered. A batch can wait on a history
   * read across a failover; the heads a worker checks against a new master must include all of it.
   */
  async idle(): Promise<void> {
    while (this.handling) await this.handling;
  }

  /** Resolves once the reader knows where the stream ends and reads from there. */
  async start(): Promise<void> {
    await this.locate(async () => {
      const [last] = (await this.loss.guard(this.options.client.call("XREVRANGE", this.options.key, "+", "-", "COUNT", 1))) as StreamEntry[];
      if (!last) return "0-0";
      this.trail.remember(last);
      return last[0];
    });
    this.running = this.loop();
  }

  /** Stops reading and disconnects the reader's client (disconnect, not quit: ioredis#1362). */
  async close(): Promise<void> {
    this.closed = true;
    releaseRedisClient(this.options.client);
    this.ready.cancel();
    await this.running;
  }

  private async loop(): Promise<void> {
    const { client, key, logger } = this.options;
    while (!this.closed) {
      // The connection was replaced while a batch was delivered: the new one may reach a master
      // whose stream lacks this reader's last ID, and must be located like any reconnect.
      if (this.locatedOn !== this.connections) {
        this.located = this.unlocated();
        await this.resume();
        continue;
      }
      let reply: unknown;
      try {
        // The typed method, not `call`: ioredis maps its RESP3 reply back to the RESP2 array shape.
        reply = await this.loss.guard(client.xread("COUNT", READ_COUNT, "BLOCK", FANOUT_BLOCK_MS, "STREAMS", key, this.lastId));
      } catch (err) {
        if (this.closed) return;
        logger.warn({ err: (err as Error).message }, "fan-out read interrupted; resuming after reconnect");
        this.located = this.unlocated();
        // An error that is not a lost connection (a key of the wrong type) would otherwise repeat at once.
        await delay(RETRY_PAUSE_MS);
        await this.resume();
        continue;
      }
      const entries = streamEntries(reply);
      if (entries.length === 0) continue;
      this.handling = this.handle(entries);
      try {
        await this.handling;
      } finally {
        this.handling = undefined;
      }
    }
  }

  /** After the connection came back: maybe to a new master that lacks entries this reader saw. */
  private async resume(): Promise<void> {
    await this.locate(() => this.sharedPlace());
  }

  /**
   * The newest entry this reader read that the master holds too: every entry after it there is
   * one this reader has not read. Not simply the last ID read: a master that lacks the last
   * entries read (writes lost in a failover, or written by the old master after it was replaced
   * and served to this reader before its connection closed) has written its own below their IDs.
   * Read on from the last ID, they would be skipped, and with them the offsets they reuse, which
   * DeliveredPositions must meet to start a new epoch; the gap they leave would be filled from
   * history, which hides the reuse (a subscriber saw 115, then 117 in the same epoch).
   */
  private async sharedPlace(): Promise<string> {
    const { client, key, logger } = this.options;
    const from = this.lastId;
    if (from === "0-0") return from;
    let upper = from;
    // The last entry read is almost always still there: one entry, then pages.
    let count = 1;
    for (;;) {
      const page = (await this.loss.guard(client.call("XREVRANGE", key, upper, "-", "COUNT", count))) as StreamEntry[];
      const shared = page.find((entry) => this.trail.holds(entry));
      if (shared) {
        if (shared[0] !== from) logger.warn({ from, to: shared[0] }, "this master lacks fan-out entries this reader read (writes lost in a failover); reading on after the last one both hold");
        return shared[0];
      }
      const last = page.at(-1);
      // The stream's start, or below every entry the trail remembers: none further down can match.
      if (!last || page.length < count || this.trail.before(last[0])) break;
      upper = `(${last[0]}`;
      count = WALK_PAGE;
    }
    logger.warn({ from }, "this master holds none of the last fan-out entries this reader read (writes lost, or an empty server); reading its stream from the start");
    return "0-0";
  }

  /** Sets the read position `choose` finds, retrying until a connection answers. */
  private async locate(choose: () => Promise<string>): Promise<void> {
    while (!this.closed) {
      try {
        if (!(await this.ready.wait())) return;
        const { client, masterCheck, logger } = this.options;
        if (!(await onTheMaster(client, masterCheck, logger))) continue;
        const connection = this.connections;
        this.lastId = await choose();
        this.locatedOn = connection;
        this.markLocated();
        logger.info({ from: this.lastId, master: serverAddress(client) }, "fan-out reader positioned");
        return;
      } catch {
        // Lost the connection again while looking: wait for the next one.
      }
    }
  }

  private unlocated(): Promise<void> {
    return new Promise((resolve) => (this.markLocated = resolve));
  }

  private async handle(entries: StreamEntry[]): Promise<void> {
    const { positions, deliver } = this.options;
    let batch: Message[] = [];
    const flush = (): void => {
      if (batch.length > 0) deliver(batch);
      batch = [];
    };
    let newestTs = 0;
    for (const entry of entries) {
      this.lastId = entry[0];
      this.trail.remember(entry);
      const decoded = decodeFanoutEntry(entry);
      if (!decoded) continue;
      if (decoded.kind === "probe") {
        this.options.onProbe(decoded.nonce);
        continue;
      }
      if (decoded.kind === "signal") {
        // After the messages read before it, so a client sees them in the order Redis wrote them.
        flush();
        this.options.onSignal(decoded.json);
        continue;
      }
      const message = decoded.message;
      newestTs = message.ts;
      const verdict = positions.judge(message, entry[0]);
      if (verdict.kind === "duplicate") continue;
      if (verdict.kind === "reused") {
        flush();
        await this.options.onReusedOffset(message);
        continue;
      }
      if (verdict.kind === "gap") {
        flush();
        batch = await this.fill(message.channel, verdict.since);
        if (positions.judge(message).kind === "duplicate") continue;
      }
      positions.advance(message, entry[0]);
      batch.push(message);
    }
    flush();
    if (newestTs > 0) this.options.onLag(Math.max(0, Date.now() - newestTs) / 1000);
  }

  /** Missing offsets come from the channel's history, in order, before anything newer. */
  private async fill(channel: string, since: StreamPosition): Promise<Message[]> {
    const { positions, fillGap, logger } = this.options;
    try {
      const history = await fillGap(channel, since);
      if (!history.recovered) {
        // Its subscribers are told of a gap next: say why, this is the loss a failover may cost.
        logger.warn({ channel, since, head: history.head }, "a fan-out gap is not in the channel's history; delivering on with a resync");
        return [];
      }
      const filled: Message[] = [];
      for (const message of history.messages) {
        if (positions.judge(message).kind !== "deliver") continue;
        positions.advance(message);
        filled.push(message);
      }
      return filled;
    } catch (err) {
      // Delivering the newer message anyway lets subscribers see the gap (a resync) instead of a stall.
      logger.warn({ err: (err as Error).message, channel }, "could not fill a fan-out gap from history");
      return [];
    }
  }
}

/** XREAD's reply (RESP2 shape: [[key, entries]], or null when BLOCK timed out). */
function streamEntries(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply)) return [];
  const stream = reply[0] as [string, StreamEntry[]] | undefined;
  return stream?.[1] ?? [];
}
