import type { Redis } from "ioredis";
import type { Logger } from "../../ops/logger.js";
import { PusherError } from "../../protocol/errors.js";
import type { Member } from "../../protocol/presence.js";
import { ConnectionLoss } from "../../redis-client/connection-loss.js";
import { releaseRedisClient } from "../../redis-client/connections.js";
import { newWorkerId } from "../../redis-client/worker-id.js";
import { membersFrom, type ChannelStateBackend, type ChannelSummary, type Contribution, type JoinOutcome, type StateSignal } from "../backend.js";
import { defineStateScripts, type StateScriptRunner } from "./state-scripts.js";

export interface RedisChannelStateOptions {
  /** A connection of its own: state changes queue behind nothing else. */
  client: Redis;
  keyPrefix: string;
  fanoutMaxLength: number;
  /** The most webhook events kept queued in Redis; 0 = webhooks off, none recorded. */
  webhookQueueMax: number;
  /** A worker silent this long is dead: its contributions are undone (presence.leaseSeconds). */
  leaseMs: number;
  /** Queries and joins fail with `unavailable` after this long (publish.timeoutMs). */
  timeoutMs: number;
  /** Where signals from the fan-out arrive (RedisBroker.onSignals). */
  signals(handler: (json: string) => void): void;
  logger: Logger;
  /** The id its lease has (the broker's, so its reconcile markers name the same worker). */
  workerId?: string;
}

/** Entries per script run: bounds one script's time on the master. */
const CHUNK = 500;
/** Channels of a dead worker undone per reap step. */
const REAP_BATCH = 200;
const REAP_STEPS_PER_TICK = 50;
/** Occupied channels read per HSCAN step. */
const SCAN_COUNT = 1000;

/**
 * Channel state over Redis (standalone or Sentinel). Each worker has an id and a lease in
 * `st:workers`, renewed every leaseMs/3; every worker also reaps, every leaseMs/3, the
 * contributions of workers whose lease lapsed. After every (re)connect, and whenever its lease was
 * found lost, a worker re-asserts its whole contribution (idempotent: surviving state is unchanged
 * and emits nothing; lost state is restored; state the worker no longer has is cleared).
 */
export class RedisChannelState implements ChannelStateBackend {
  readonly workerId: string;
  private readonly run: StateScriptRunner;
  private handler: (signal: StateSignal) => void = () => undefined;
  private snapshot: () => Contribution[] = () => [];
  private readyAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: RedisChannelStateOptions) {
    const { client, logger } = options;
    this.workerId = options.workerId ?? newWorkerId();
    const scripts = defineStateScripts(client);
    // Commands are not resent after a reconnect (the re-assert states everything again): fail them.
    const loss = new ConnectionLoss(client);
    this.run = (name, args) => loss.guard(scripts(name, args));
    options.signals((json) => {
      let signal: StateSignal;
      try {
        signal = JSON.parse(json) as StateSignal;
      } catch (err) {
        logger.warn({ err: (err as Error).message }, "unreadable state signal in the fan-out");
        return;
      }
      this.handler(signal);
    });
    client.on("close", () => (this.readyAt = 0));
    client.on("ready", () => {
      this.readyAt = Date.now();
      void this.reassert("reconnected");
    });
  }

  async start(): Promise<void> {
    if (this.options.client.status === "ready") {
      this.readyAt = Date.now();
      await this.reassert("started");
    }
    const every = Math.max(100, Math.floor(this.options.leaseMs / 3));
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
  }

  async sync(entries: Contribution[]): Promise<void> {
    // Every chunk sent in this tick, pipelined in order: a later change of this worker queues behind them all.
    const runs: Promise<unknown>[] = [];
    for (let i = 0; i < entries.length; i += CHUNK) runs.push(this.run("pusherStateSync", [...this.head(), ...flatten(entries.slice(i, i + CHUNK))]));
    await Promise.all(runs);
  }

  async join(entries: Contribution[], channel: string, user: string, maxMembers: number): Promise<JoinOutcome> {
    const reply = (await this.bounded(this.run("pusherStateJoin", [...this.head(), channel, user, maxMembers, ...flatten(entries)]))) as [number, string[]?];
    if (Number(reply[0]) !== 1) return { ok: false };
    return { ok: true, members: membersFrom(pairs(reply[1] ?? [])) };
  }

  async broadcast(signal: StateSignal): Promise<void> {
    const { client, keyPrefix, fanoutMaxLength } = this.options;
    await this.bounded(client.call("XADD", `${keyPrefix}fanout`, "MAXLEN", "~", fanoutMaxLength, "*", "x", JSON.stringify(signal)));
  }

  onSignal(handler: (signal: StateSignal) => void): void {
    this.handler = handler;
  }

  onReassert(snapshot: () => Contribution[]): void {
    this.snapshot = snapshot;
  }

  async channels(prefix: string, limit: number): Promise<ChannelSummary[]> {
    const { client, keyPrefix } = this.options;
    const found: ChannelSummary[] = [];
    let cursor = "0";
    do {
      const [next, flat] = (await this.bounded(client.hscan(`${keyPrefix}st:occupied`, cursor, "MATCH", `${prefix}*`, "COUNT", SCAN_COUNT))) as [string, string[]];
      for (const [channel, count] of pairs(flat)) if (found.length < limit && Number(count) > 0) found.push({ channel, subscribers: Number(count) });
      cursor = next;
    } while (cursor !== "0" && found.length < limit);
    return found;
  }

  async channel(channel: string): Promise<{ subscribers: number; members: number }> {
    const { client, keyPrefix } = this.options;
    const [subscribers, members] = await this.bounded(Promise.all([client.hget(`${keyPrefix}st:occupied`, channel), client.hlen(`${keyPrefix}st:pu:${channel}`)]));
    return { subscribers: Number(subscribers ?? 0), members };
  }

  async members(channel: string): Promise<Member[]> {
    const all = await this.bounded(this.options.client.hgetall(`${this.options.keyPrefix}st:pm:${channel}`));
    return membersFrom(Object.entries(all));
  }

  /** Withdraws this worker's contributions (behind its last changes) and its lease, then disconnects. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    try {
      for (;;) {
        const left = (await this.bounded(this.run("pusherStateReap", [...this.head(), REAP_BATCH, "self"]))) as [string, number];
        if (Number(left[1]) === 0) break;
      }
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, "channel state not withdrawn at close; the other workers reap it when the lease lapses");
    }
    releaseRedisClient(this.options.client);
  }

  private head(): (string | number)[] {
    return [this.options.keyPrefix, this.workerId, this.options.fanoutMaxLength, this.options.webhookQueueMax];
  }

  private async tick(): Promise<void> {
    if (this.closed || this.readyAt === 0) return;
    const { logger, leaseMs } = this.options;
    try {
      const lost = Number(await this.run("pusherStateLease", [...this.head(), leaseMs]));
      if (lost === 1) await this.reassert("lease lost");
      // A worker back from an outage waits one lease before reaping: the others renew meanwhile.
      if (Date.now() - this.readyAt < leaseMs) return;
      for (let step = 0; step < REAP_STEPS_PER_TICK; step++) {
        const reaped = (await this.run("pusherStateReap", [...this.head(), REAP_BATCH, "lapsed"])) as [string, number] | [];
        if (reaped.length === 0) break;
        logger.info({ worker: reaped[0], channelsLeft: Number(reaped[1]) }, "reaped the channel state of a worker whose lease lapsed");
      }
    } catch (err) {
      logger.warn({ err: (err as Error).message }, "channel state lease or reaping failed; retrying next round");
    }
  }

  /** States this worker's whole contribution again, and clears what Redis holds that it no longer has. */
  private async reassert(why: string): Promise<void> {
    const { logger, leaseMs } = this.options;
    try {
      await this.run("pusherStateLease", [...this.head(), leaseMs]);
      const held = (await this.run("pusherStateHeld", this.head())) as (string | string[])[];
      // Taken after the read, and sent in this same tick: later changes queue behind it.
      const truth = this.snapshot();
      const stated = new Set(truth.map(entryKey));
      const cleared: Contribution[] = [];
      const emptied: Contribution[] = [];
      for (let i = 0; i < held.length; i += 2) {
        const channel = held[i] as string;
        for (const user of held[i + 1] as string[]) if (!stated.has(entryKey({ k: "m", channel, user, info: "", count: 0 }))) cleared.push({ k: "m", channel, user, info: "", count: 0 });
        if (!stated.has(entryKey({ k: "s", channel, count: 0 }))) emptied.push({ k: "s", channel, count: 0 });
      }
      await this.sync([...cleared, ...emptied, ...truth]);
      if (why !== "started" || cleared.length + emptied.length > 0) logger.info({ why, entries: truth.length, cleared: cleared.length + emptied.length }, "channel state re-asserted");
    } catch (err) {
      logger.warn({ err: (err as Error).message, why }, "could not re-assert channel state; the next reconnect or lease renewal tries again");
    }
  }

  private bounded<T>(command: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PusherError("unavailable", `Redis did not answer within ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
    });
    return Promise.race([command, timeout]).finally(() => clearTimeout(timer));
  }
}

function entryKey(entry: Contribution): string {
  return entry.k === "s" ? `s\n${entry.channel}` : `m\n${entry.channel}\n${entry.user}`;
}

function flatten(entries: readonly Contribution[]): (string | number)[] {
  const args: (string | number)[] = [];
  for (const e of entries) {
    if (e.k === "s") args.push("s", e.channel, e.count);
    else args.push("m", e.channel, e.user, e.info, e.count);
  }
  return args;
}

function* pairs(flat: readonly string[]): Generator<[string, string]> {
  for (let i = 0; i + 1 < flat.length; i += 2) yield [flat[i]!, flat[i + 1]!];
}
