import type { Redis } from "ioredis";
import type { PusherConfig } from "../../config/schema.js";
import type { Logger } from "../../ops/logger.js";
import type { RedisObserver } from "../../ops/worker-metrics.js";
import type { Message, StreamPosition } from "../../protocol/messages.js";
import { canRecover } from "../../protocol/position-rule.js";
import { CommandRetry } from "../../redis-client/command-retry.js";
import { ConnectionLoss } from "../../redis-client/connection-loss.js";
import { assertSentWhereIssued, releaseRedisClient } from "../../redis-client/connections.js";
import type { MasterCheck } from "../../redis-client/master-check.js";
import type { Broker, HistoryResult, PublishOutcome, PublishRequest } from "../broker.js";
import { mintEpoch } from "../epoch.js";
import { PublishBatcher } from "../publish-batcher.js";
import { Canary } from "./canary.js";
import { DeliveredPositions } from "./delivered-positions.js";
import { decodeHistoryEntry, type StreamEntry } from "./fanout-entries.js";
import { FanoutReader } from "./fanout-reader.js";
import { parseOffsets, publishArgs, type PublishSettings } from "./publish-encoding.js";
import { Reconciler } from "./reconciler.js";
import { ReplicaWait } from "./replica-wait.js";
import { defineScripts, type ScriptRunner } from "./scripts.js";
import { ToldHeads } from "./told-heads.js";

export interface RedisBrokerOptions extends PublishSettings {
  /** Publishes, history reads, probes. Created with SENT_WHERE_ISSUED. */
  commands: Redis;
  /** The fan-out reader's own connection (XREAD BLOCK holds it). Created with SENT_WHERE_ISSUED. */
  reader: Redis;
  durability: PusherConfig["publish"]["durability"];
  /** At replica durability: replicas silent for longer are not waited for (see replicasToWaitFor). */
  replicaMaxLagSeconds: number;
  logger: Logger;
  /** What operators see of the Redis path (metrics). */
  observer?: RedisObserver;
  /** Sentinel mode: rejects a connection to a server that is no longer the master. */
  masterCheck?: MasterCheck;
  /** This worker's id and the key of the live workers' leases (channel state's `st:workers`). */
  fleet?: { workerId: string; leasesKey: string };
}

/**
 * The broker over Redis (standalone, or the master Sentinel names): it wires the parts together.
 * A publish is one script run (offset, history and fan-out together; publish-encoding.ts), behind
 * the Reconciler's gate after every reconnect, retried by CommandRetry within publish.timeoutMs,
 * and at replica durability held until ReplicaWait says every replica has it. Every worker reads
 * the fan-out from its own last ID (FanoutReader, DeliveredPositions).
 */
export class RedisBroker implements Broker {
  /** The id this worker's lease and reconcile markers carry, when it runs in a fleet. */
  readonly workerId: string | undefined;
  private readonly run: ScriptRunner;
  private readonly positions = new DeliveredPositions();
  private readonly told = new ToldHeads();
  private readonly reader: FanoutReader;
  private readonly canary: Canary;
  private readonly retry: CommandRetry;
  private readonly reconciler: Reconciler;
  private readonly replicas: ReplicaWait;
  /** One script run (and at replica durability one WAIT) per tick carries every publish this worker made in it. */
  private readonly batcher = new PublishBatcher((requests, arrivedAt) => this.publishNow(requests, arrivedAt));
  private handler: (messages: Message[]) => void = () => undefined;
  private resetHandler: (channel: string, head: StreamPosition) => void = () => undefined;
  private signalHandler: (json: string) => void = () => undefined;
  private readonly sweepTimer: NodeJS.Timeout;

  constructor(private readonly options: RedisBrokerOptions) {
    const { commands, reader, keyPrefix, logger } = options;
    // The Reconciler's gate holds publishes until the heads were checked on the connection's
    // server; a command ioredis kept for the next connection would pass it, on a server nobody checked.
    assertSentWhereIssued(commands, "broker's commands");
    assertSentWhereIssued(reader, "fan-out reader's");
    this.workerId = options.fleet?.workerId;
    const scripts = defineScripts(commands);
    const loss = new ConnectionLoss(commands);
    this.run = (name, args) => loss.guard(scripts(name, args));
    this.retry = new CommandRetry(commands, logger);
    this.replicas = new ReplicaWait(commands, loss, options.replicaMaxLagSeconds);
    this.canary = new Canary((nonce) => loss.guard(commands.call("XADD", `${keyPrefix}fanout`, "MAXLEN", "~", options.fanoutMaxLength, "*", "k", nonce)));
    this.reconciler = new Reconciler({
      commands,
      run: this.run,
      retry: this.retry,
      delivered: this.positions,
      told: this.told,
      keyPrefix,
      metaTtlMs: options.metaTtlMs,
      timeoutMs: options.timeoutMs,
      logger,
      onMaster: (address) => options.observer?.master(address),
      ...(options.masterCheck ? { masterCheck: options.masterCheck } : {}),
      ...(options.fleet ? { fleet: options.fleet } : {}),
      onReset: (channel, head) => this.resetHandler(channel, head),
      readerIdle: () => this.reader.idle(),
    });
    this.reader = new FanoutReader({
      client: reader,
      key: `${keyPrefix}fanout`,
      positions: this.positions,
      ...(options.masterCheck ? { masterCheck: options.masterCheck } : {}),
      fillGap: (channel, since) => this.history(channel, since),
      deliver: (messages) => this.handler(messages),
      onReusedOffset: (message) => this.reconciler.diverged(message),
      onProbe: (nonce) => this.canary.seen(nonce),
      onSignal: (json) => this.signalHandler(json),
      onLag: (seconds) => options.observer?.fanoutLag(seconds),
      logger: logger.child({ module: "fanout" }),
    });
    this.sweepTimer = setInterval(() => {
      this.positions.sweep(Math.max(options.historyTtlMs, 60_000));
      // A failover can only lose the last moments of writes.
      this.told.sweep(60_000);
    }, 30_000).unref();
  }

  /** Resolves once the fan-out reader is reading; the worker reports ready after this. */
  start(): Promise<void> {
    return this.reader.start();
  }

  publish(requests: PublishRequest[], arrivedAt = Date.now()): Promise<PublishOutcome[]> {
    return this.batcher.publish(requests, arrivedAt);
  }

  private async publishNow(requests: PublishRequest[], arrivedAt: number): Promise<PublishOutcome[]> {
    const args = publishArgs(requests, this.options);
    // Retries, the post-failover gate and WAITs included: the publisher hears within timeoutMs.
    const deadline = arrivedAt + this.options.timeoutMs;
    const results = await this.retry.run(
      "publish",
      async () => {
        await this.reconciler.reconciled();
        if (this.options.durability === "leader") return (await this.run("pusherPublish", args)) as string[];
        // Sent together, so INFO names the replicas connected right after the write: one round trip.
        const [replies, info] = await Promise.all([this.run("pusherPublish", args), this.replicas.info()]);
        await this.replicas.until(info, deadline);
        return replies as string[];
      },
      deadline,
    );
    return results.map((reply) => {
      const offsets = parseOffsets(reply);
      for (const [channel, head] of Object.entries(offsets)) this.told.record(channel, head);
      return { ok: true, offsets };
    });
  }

  async history(channel: string, since?: StreamPosition): Promise<HistoryResult> {
    const { keyPrefix, metaTtlMs, historyTtlMs, timeoutMs } = this.options;
    const [epoch, offset, now, entries] = await this.retry.run(
      "history",
      async () => {
        await this.reader.positioned();
        return (await this.run("pusherHistory", [keyPrefix, channel, mintEpoch(), metaTtlMs, since ? since.offset : -1])) as [string, number, number, StreamEntry[]];
      },
      Date.now() + timeoutMs,
    );
    const head = { epoch, offset: Number(offset) };
    // A subscriber joins at this head, or recovers up to it: it may be ahead of what the reader
    // delivered. Offset 0 holds nothing a failover could hand out again.
    if (head.offset > 0) this.told.record(channel, head);
    // Expired messages are the oldest: dropping them leaves a replay that no longer starts at since + 1.
    const cutoff = Number(now) - historyTtlMs;
    const messages = entries.map((entry) => decodeHistoryEntry(channel, epoch, entry)).filter((m) => m.ts >= cutoff);
    if (!canRecover(since, head, messages)) return { head, messages: [], recovered: false };
    return { head, messages, recovered: true };
  }

  onMessages(handler: (messages: Message[]) => void): void {
    this.handler = handler;
  }

  onReset(handler: (channel: string, head: StreamPosition) => void): void {
    this.resetHandler = handler;
  }

  /** Sets the consumer of channel state signals that ride the fan-out (src/state/redis/). */
  onSignals(handler: (json: string) => void): void {
    this.signalHandler = handler;
  }

  /** A canary along the whole publish → fan-out path, for /readyz. */
  probe(timeoutMs: number): Promise<void> {
    return this.canary.probe(timeoutMs);
  }

  async close(): Promise<void> {
    this.reconciler.close();
    clearInterval(this.sweepTimer);
    this.retry.close();
    await this.reader.close();
    releaseRedisClient(this.options.commands);
  }
}
