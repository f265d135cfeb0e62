import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "../../ops/logger.js";
import { PusherError } from "../../protocol/errors.js";
import type { Message, PublishOffsets, StreamPosition } from "../../protocol/messages.js";
import { canRecover } from "../../protocol/position-rule.js";
import { ClientReady } from "../../redis-client/client-ready.js";
import { ConnectionLoss } from "../../redis-client/connection-loss.js";
import { onTheMaster, type MasterCheck } from "../../redis-client/master-check.js";
import type { Broker, HistoryResult, PublishOutcome, PublishRequest } from "../broker.js";
import { dedupKey } from "../dedup-key.js";
import { mintEpoch } from "../epoch.js";
import { mintMessageId } from "../message-id.js";
import { DeliveredPositions } from "./delivered-positions.js";
import { decodeHistoryEntry, type StreamEntry } from "./fanout-entries.js";
import { FanoutReader } from "./fanout-reader.js";
import { defineScripts, type ScriptRunner } from "./scripts.js";
import { releaseRedisClient, serverAddress } from "../../redis-client/connections.js";
import { replicasToWaitFor } from "../../redis-client/replicas-to-wait-for.js";

export interface RedisBrokerOptions {
  /** Publishes, history reads, probes. */
  commands: Redis;
  /** The fan-out reader's own connection (XREAD BLOCK holds it). */
  reader: Redis;
  keyPrefix: string;
  durability: "leader" | "replica";
  /** At replica durability: replicas silent for longer are not waited for (see replicasToWaitFor). */
  replicaMaxLagSeconds: number;
  timeoutMs: number;
  historySize: number;
  historyTtlMs: number;
  metaTtlMs: number;
  dedupWindowMs: number;
  fanoutMaxLength: number;
  logger: Logger;
  observer?: RedisBrokerObserver;
  /** Sentinel mode: rejects a connection to a server that is no longer the master. */
  masterCheck?: MasterCheck;
}

/** What operators see of the Redis path (metrics). */
export interface RedisBrokerObserver {
  /** The master the command connection reached ("host:port"), at every (re)connect. */
  master(address: string): void;
  fanoutLag(seconds: number): void;
}

const RECONCILE_CHUNK = 500;
const RECONCILE_RETRY_MS = 1000;
const RETRY_PAUSE_MS = 50;
const WAIT_STEP_MS = 250;
/** Internal publish ids only need to outlive a publish's own retries. */
const INTERNAL_ID_TTL_FLOOR_MS = 60_000;

/**
 * The broker over Redis (standalone, or the master Sentinel names). A publish is one script run:
 * offset, history and fan-out together. Every worker reads the fan-out from its own last ID.
 * After every (re)connect of the command connection, publishing waits until the heads this
 * worker delivered have been checked against the new master (see RECONCILE in scripts.ts), so a
 * master that lost writes cannot hand out offsets subscribers already hold.
 */
export class RedisBroker implements Broker {
  private readonly run: ScriptRunner;
  private readonly positions = new DeliveredPositions();
  /** The heads this worker's publishes were acknowledged at: lost with a master, they must mint a new epoch too. */
  private readonly acknowledged = new DeliveredPositions();
  private readonly reader: FanoutReader;
  private readonly probes = new Map<string, () => void>();
  private readonly commandsReady: ClientReady;
  private readonly loss: ConnectionLoss;
  private handler: (messages: Message[]) => void = () => undefined;
  private resetHandler: (channel: string, head: StreamPosition) => void = () => undefined;
  /** Resolves while publishing is allowed: reconciled with the current master. */
  private gate: Promise<void>;
  private openGate: (() => void) | undefined;
  private closed = false;
  private readonly sweepTimer: NodeJS.Timeout;

  constructor(private readonly options: RedisBrokerOptions) {
    const { commands, reader, keyPrefix, logger } = options;
    const scripts = defineScripts(commands);
    this.loss = new ConnectionLoss(commands);
    this.run = (name, args) => this.loss.guard(scripts(name, args));
    this.commandsReady = new ClientReady(commands);
    this.gate = this.closedGate();
    commands.on("close", () => {
      // One closed gate per outage, however many reconnect attempts fail: every waiter holds it.
      if (!this.closed && !this.openGate) this.gate = this.closedGate();
    });
    commands.on("ready", () => void this.reconcile());
    if (commands.status === "ready") void this.reconcile();
    this.reader = new FanoutReader({
      client: reader,
      key: `${keyPrefix}fanout`,
      positions: this.positions,
      ...(options.masterCheck ? { masterCheck: options.masterCheck } : {}),
      fillGap: (channel, since) => this.history(channel, since),
      deliver: (messages) => this.handler(messages),
      onReusedOffset: (message) => this.diverged(message),
      onProbe: (nonce) => this.probes.get(nonce)?.(),
      onLag: (seconds) => options.observer?.fanoutLag(seconds),
      logger: logger.child({ module: "fanout" }),
    });
    this.sweepTimer = setInterval(() => {
      this.positions.sweep(Math.max(options.historyTtlMs, 60_000));
      // A failover can only lose the last moments of writes.
      this.acknowledged.sweep(60_000);
    }, 30_000).unref();
  }

  /** Resolves once the fan-out reader is reading; the worker reports ready after this. */
  start(): Promise<void> {
    return this.reader.start();
  }

  async publish(requests: PublishRequest[], arrivedAt = Date.now()): Promise<PublishOutcome[]> {
    const { keyPrefix, historySize, historyTtlMs, metaTtlMs, dedupWindowMs, fanoutMaxLength, timeoutMs } = this.options;
    const internalTtl = Math.max(INTERNAL_ID_TTL_FLOOR_MS, 2 * timeoutMs);
    const args: (string | number)[] = [keyPrefix, historySize, historyTtlMs, metaTtlMs, mintEpoch(), fanoutMaxLength, requests.length];
    for (const request of requests) {
      // Every publish carries an id, so a script that ran on a master that died before answering
      // is not run twice when it is retried on the next one; and if that master's writes are lost
      // with it, the copy written again carries the same message id for clients to drop.
      const messageId = request.id ?? mintMessageId();
      const idKey = request.id === undefined ? `${keyPrefix}id:i:${messageId}` : `${keyPrefix}id:u:${dedupKey({ ...request, id: request.id })}`;
      args.push(idKey, request.id === undefined ? internalTtl : dedupWindowMs, messageId, request.event, JSON.stringify(request.data ?? null), request.channels.length, ...request.channels);
    }
    // Retries, the post-failover gate and WAITs included: the publisher hears within timeoutMs.
    const deadline = arrivedAt + timeoutMs;
    const results = await this.withRetries(
      "publish",
      async () => {
        await this.gate;
        if (this.options.durability === "leader") return (await this.run("pusherPublish", args)) as string[];
        // Sent together, so INFO names the replicas connected right after the write: one round trip.
        const [replies, info] = await Promise.all([this.run("pusherPublish", args), this.replicationInfo()]);
        await this.waitForReplicas(info, deadline);
        return replies as string[];
      },
      deadline,
    );
    return results.map((reply) => {
      const offsets = parseOffsets(reply);
      for (const [channel, head] of Object.entries(offsets)) this.acknowledged.raiseTo(channel, head);
      return { ok: true, offsets };
    });
  }

  async history(channel: string, since?: StreamPosition): Promise<HistoryResult> {
    const { keyPrefix, metaTtlMs, historyTtlMs, timeoutMs } = this.options;
    const [epoch, offset, now, entries] = await this.withRetries(
      "history",
      async () => {
        await this.reader.positioned();
        return (await this.run("pusherHistory", [keyPrefix, channel, mintEpoch(), metaTtlMs, since ? since.offset : -1])) as [string, number, number, StreamEntry[]];
      },
      Date.now() + timeoutMs,
    );
    const head = { epoch, offset: Number(offset) };
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

  /** A canary written to the fan-out (so it needs a writable master) and read back by this worker's reader. */
  async probe(timeoutMs: number): Promise<void> {
    const nonce = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const seen = new Promise<void>((resolve, reject) => {
      this.probes.set(nonce, resolve);
      timer = setTimeout(() => reject(new PusherError("unavailable", `the canary did not come back through Redis within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const write = this.loss.guard(this.options.commands.call("XADD", `${this.options.keyPrefix}fanout`, "MAXLEN", "~", this.options.fanoutMaxLength, "*", "k", nonce));
      await Promise.all([write, seen]);
    } catch (err) {
      throw err instanceof PusherError ? err : new PusherError("unavailable", `the canary did not come back through Redis: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
      this.probes.delete(nonce);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweepTimer);
    this.commandsReady.cancel();
    await this.reader.close();
    releaseRedisClient(this.options.commands);
  }

  private closedGate(): Promise<void> {
    return new Promise((resolve) => {
      this.openGate = () => {
        this.openGate = undefined;
        resolve();
      };
    });
  }

  /** Checks every head this worker delivered against the (possibly new) master, then lets publishes through. */
  private async reconcile(): Promise<void> {
    const { keyPrefix, metaTtlMs, logger, observer, commands, masterCheck } = this.options;
    try {
      if (!(await onTheMaster(commands, masterCheck, logger))) return;
      const master = serverAddress(commands);
      if (master !== undefined) observer?.master(master);
      // Acknowledged heads count as much as delivered ones: a write acknowledged by the old master
      // and lost before any reader saw it would otherwise vanish without a resync.
      const entries = [...this.positions.entries(), ...this.acknowledged.entries()];
      const reset = new Set<string>();
      for (let i = 0; i < entries.length; i += RECONCILE_CHUNK) {
        const args: (string | number)[] = [keyPrefix, mintEpoch(), metaTtlMs];
        for (const [channel, { epoch, offset }] of entries.slice(i, i + RECONCILE_CHUNK)) args.push(channel, epoch, offset);
        const changed = (await this.run("pusherReconcile", args)) as (string | number)[];
        for (let j = 0; j < changed.length; j += 3) {
          const channel = String(changed[j]);
          if (reset.has(channel)) continue;
          reset.add(channel);
          this.historyLost(channel, String(changed[j + 1]), Number(changed[j + 2]));
        }
      }
      if (this.openGate) logger.info({ master, channels: entries.length }, "channel heads checked against the master; publishing resumes");
      this.openGate?.();
    } catch (err) {
      logger.warn({ err: (err as Error).message }, "could not check channel heads against the master; publishing waits");
      // A dropped connection reconciles at its next 'ready'; anything else (a busy or out-of-memory
      // master) is tried again here, or publishing would stay closed on a live connection.
      if (commands.status === "ready" && !this.closed) setTimeout(() => void this.reconcile(), RECONCILE_RETRY_MS).unref();
    }
  }

  /** Subscribers learn now, and take the new epoch's messages from its first offset. */
  private historyLost(channel: string, epoch: string, headOffset: number): void {
    const head = { epoch, offset: 0 };
    this.options.logger.warn({ channel, epoch, headOffset }, "channel history lost in Redis; subscribers resync to a new epoch");
    this.positions.moveTo(channel, head);
    this.acknowledged.moveTo(channel, head);
    this.resetHandler(channel, head);
  }

  /** The fan-out handed this worker a delivered offset again, with another message. */
  private async diverged(message: Message): Promise<void> {
    const { keyPrefix, metaTtlMs, timeoutMs, logger } = this.options;
    try {
      const [epoch, offset] = await this.withRetries(
        "diverged",
        async () => (await this.run("pusherDiverged", [keyPrefix, message.channel, message.epoch, mintEpoch(), metaTtlMs])) as [string, number],
        Date.now() + timeoutMs,
      );
      this.historyLost(message.channel, epoch, Number(offset));
    } catch (err) {
      logger.error({ err: (err as Error).message, channel: message.channel }, "could not start a new epoch for a channel whose history diverged");
    }
  }

  private replicationInfo(): Promise<string> {
    return this.loss.guard(this.options.commands.info("replication"));
  }

  /**
   * WAIT until every replica that counts (replicasToWaitFor) has the write, in short steps: a
   * connection silent for longer than redis.commandTimeoutMs is taken for a hung master, and a
   * replica that connects or stalls meanwhile changes the count.
   */
  private async waitForReplicas(info: string, deadline: number): Promise<void> {
    let needed = replicasToWaitFor(info, this.options.replicaMaxLagSeconds);
    while (Date.now() < deadline) {
      const step = Math.max(1, Math.min(deadline - Date.now(), WAIT_STEP_MS));
      if (Number(await this.loss.guard(this.options.commands.call("WAIT", needed, step))) >= needed) return;
      needed = replicasToWaitFor(await this.replicationInfo(), this.options.replicaMaxLagSeconds);
    }
    throw new PusherError("unavailable", "the replicas did not all acknowledge the message within publish.timeoutMs; retry with the same id", 1);
  }

  /**
   * Runs `attempt` until it succeeds or the deadline passes; a connection lost mid-command (a
   * failover) is retried once the client is back. Never claims success for a command that failed.
   */
  private async withRetries<T>(what: string, attempt: () => Promise<T>, deadline: number): Promise<T> {
    let lastError: unknown;
    while (!this.closed) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      try {
        return await withTimeout(attempt(), remaining);
      } catch (err) {
        if (err instanceof PusherError) throw err;
        lastError = err;
        if (!isRetryable(err)) break;
        await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
        await withTimeout(this.commandsReady.wait(), Math.max(1, deadline - Date.now())).catch(() => undefined);
      }
    }
    const reason = lastError instanceof Error ? lastError.message : "timed out";
    this.options.logger.warn({ what, err: reason }, "redis did not answer in time");
    throw new PusherError("unavailable", `Redis did not answer within publish.timeoutMs (${reason}); retry later`, 1);
  }
}

class TimeoutError extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new TimeoutError("timed out")), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Script bugs and wrong types fail at once; lost connections, failovers and loading masters are retried. */
function isRetryable(err: unknown): boolean {
  if (err instanceof TimeoutError) return false;
  const message = err instanceof Error ? err.message : "";
  return !/^(ERR|WRONGTYPE|NOPERM|NOAUTH)/.test(message);
}

function parseOffsets(reply: string): PublishOffsets {
  const parsed = JSON.parse(reply) as Record<string, [string, number]>;
  const offsets: PublishOffsets = {};
  for (const [channel, [epoch, offset]] of Object.entries(parsed)) offsets[channel] = { epoch, offset };
  return offsets;
}
