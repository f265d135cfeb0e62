import { setTimeout as delay } from "node:timers/promises";
import type { Redis } from "ioredis";
import type { Logger } from "../../ops/logger.js";
import type { Message, StreamPosition } from "../../protocol/messages.js";
import type { CommandRetry } from "../../redis-client/command-retry.js";
import { serverAddress } from "../../redis-client/connections.js";
import { onTheMaster, type MasterCheck } from "../../redis-client/master-check.js";
import { mintEpoch } from "../epoch.js";
import type { DeliveredPositions } from "./delivered-positions.js";
import type { ScriptRunner } from "./scripts.js";
import type { ToldHeads } from "./told-heads.js";

export interface ReconcilerOptions {
  commands: Redis;
  run: ScriptRunner;
  retry: CommandRetry;
  delivered: DeliveredPositions;
  told: ToldHeads;
  keyPrefix: string;
  metaTtlMs: number;
  timeoutMs: number;
  logger: Logger;
  /** Told the master's address ("host:port") at every (re)connect, for metrics. */
  onMaster(address: string): void;
  masterCheck?: MasterCheck;
  /**
   * This worker's id and the zset of live workers' leases (id → expiry in ms, src/state/redis/).
   * Publishing after a (re)connect waits until every live worker reconciled on the same master.
   */
  fleet?: { workerId: string; leasesKey: string };
  /** A channel's history was lost: its subscribers resync to `head` now. */
  onReset(channel: string, head: StreamPosition): void;
  /** Resolves once the fan-out reader has delivered every batch it read before (FanoutReader.idle). */
  readerIdle(): Promise<void>;
}

const RECONCILE_CHUNK = 500;
const RECONCILE_RETRY_MS = 1000;
const FLEET_POLL_MS = 50;

/**
 * Names the master's dataset: a restarted server has a new run id, a promoted replica (even one
 * that was master before, since resynced) a new replication id.
 */
async function masterIdentity(commands: Redis): Promise<string> {
  const [server, replication] = await Promise.all([commands.info("server"), commands.info("replication")]);
  return `${/^run_id:(\S+)/m.exec(server)?.[1] ?? ""}:${/^master_replid:(\S+)/m.exec(replication)?.[1] ?? ""}`;
}

/**
 * Keeps lost writes from reusing offsets silently. After every (re)connect of the command
 * connection publishing waits (the gate) until every head this worker delivered or told anyone
 * of (ToldHeads) has been checked against the master (RECONCILE in scripts.ts); a head that went
 * back starts a new epoch and its subscribers resync. The gate then stays closed until every live
 * worker of the fleet has reconciled on the same master too (at most publish.timeoutMs): a worker
 * that delivered less must not hand out offsets another one already delivered. A delivered offset
 * that still comes back with another message (a worker not yet known live) does the same (DIVERGED).
 */
export class Reconciler {
  private gate: Promise<void>;
  private openGate: (() => void) | undefined;
  private closed = false;
  /** Counts reconciles: one overtaken by a newer connection's must not open the gate. */
  private generation = 0;

  constructor(private readonly options: ReconcilerOptions) {
    const { commands } = options;
    this.gate = this.closedGate();
    commands.on("close", () => {
      // One closed gate per outage, however many reconnect attempts fail: every waiter holds it.
      if (!this.closed && !this.openGate) this.gate = this.closedGate();
    });
    commands.on("ready", () => void this.reconcile());
    if (commands.status === "ready") void this.reconcile();
  }

  /** Resolves while publishing is allowed: reconciled with the current master. */
  reconciled(): Promise<void> {
    return this.gate;
  }

  /** The fan-out handed this worker a delivered offset again, with another message. */
  async diverged(message: Message): Promise<void> {
    const { keyPrefix, metaTtlMs, timeoutMs, logger, run, retry } = this.options;
    try {
      const [epoch, offset] = await retry.run(
        "diverged",
        async () => (await run("pusherDiverged", [keyPrefix, message.channel, message.epoch, mintEpoch(), metaTtlMs])) as [string, number],
        Date.now() + timeoutMs,
      );
      this.historyLost(message.channel, epoch, Number(offset));
    } catch (err) {
      logger.error({ err: (err as Error).message, channel: message.channel }, "could not start a new epoch for a channel whose history diverged");
    }
  }

  close(): void {
    this.closed = true;
  }

  private closedGate(): Promise<void> {
    return new Promise((resolve) => {
      this.openGate = () => {
        this.openGate = undefined;
        resolve();
      };
    });
  }

  private async reconcile(): Promise<void> {
    const { keyPrefix, metaTtlMs, logger, onMaster, commands, masterCheck, run } = this.options;
    const generation = ++this.generation;
    try {
      if (!(await onTheMaster(commands, masterCheck, logger))) return;
      const master = serverAddress(commands);
      if (master !== undefined) onMaster(master);
      // A batch the reader read from the old master may still be waiting on a gap's history read
      // (this connection's, now on the new master): what it delivers next must be checked too.
      await this.options.readerIdle();
      // Heads told count as much as delivered ones: a write acknowledged by the old master, or a
      // head a subscriber joined at, lost before this reader delivered it would otherwise be
      // handed out again without a resync. One in an epoch the reader has since left is stale:
      // checked, it would resync subscribers already in the newer epoch.
      const { delivered, told } = this.options;
      const entries = [...delivered.entries(), ...told.entries().filter(([channel, head]) => !delivered.left(channel, head.epoch))];
      const reset = new Set<string>();
      for (let i = 0; i < entries.length; i += RECONCILE_CHUNK) {
        const args: (string | number)[] = [keyPrefix, mintEpoch(), metaTtlMs];
        for (const [channel, { epoch, offset }] of entries.slice(i, i + RECONCILE_CHUNK)) args.push(channel, epoch, offset);
        const changed = (await run("pusherReconcile", args)) as (string | number)[];
        for (let j = 0; j < changed.length; j += 3) {
          const channel = String(changed[j]);
          if (reset.has(channel)) continue;
          reset.add(channel);
          let epoch = String(changed[j + 1]);
          let offset = Number(changed[j + 2]);
          // A head in an epoch this worker already left: the master lost the change to the newer
          // one (a replica promoted that never had it), and would hand out offsets again in an
          // epoch whose offsets subscribers hold. It starts a new one instead.
          if (delivered.left(channel, epoch)) {
            const head = (await run("pusherDiverged", [keyPrefix, channel, epoch, mintEpoch(), metaTtlMs])) as [string, number];
            [epoch, offset] = [String(head[0]), Number(head[1])];
          }
          this.historyLost(channel, epoch, offset);
        }
      }
      await this.fleetReconciled(generation);
      if (generation !== this.generation) return;
      if (this.openGate) logger.info({ master, channels: entries.length }, "channel heads checked against the master; publishing resumes");
      this.openGate?.();
    } catch (err) {
      logger.warn({ err: (err as Error).message }, "could not check channel heads against the master; publishing waits");
      // A dropped connection reconciles at its next 'ready'; anything else (a busy or out-of-memory
      // master) is tried again here, or publishing would stay closed on a live connection.
      if (commands.status === "ready" && !this.closed) setTimeout(() => void this.reconcile(), RECONCILE_RETRY_MS).unref();
    }
  }

  /**
   * Marks this worker reconciled on the master and waits, at most timeoutMs, until no live worker
   * is left that has not: one that delivered further than the master's head resets that channel first.
   */
  private async fleetReconciled(generation: number): Promise<void> {
    const { fleet, commands, keyPrefix, timeoutMs, logger, run } = this.options;
    if (!fleet) return;
    const master = await masterIdentity(commands);
    const until = Date.now() + timeoutMs;
    for (;;) {
      const waiting = Number(await run("pusherReconciled", [`${keyPrefix}reconciled`, fleet.workerId, master, fleet.leasesKey]));
      if (waiting === 0 || this.closed || generation !== this.generation) return;
      if (Date.now() >= until) {
        logger.warn({ waiting }, "live workers did not reconcile with the master in time; publishing resumes without them");
        return;
      }
      await delay(FLEET_POLL_MS);
    }
  }

  /** Subscribers learn now, and take the new epoch's messages from its first offset. */
  private historyLost(channel: string, epoch: string, headOffset: number): void {
    const head = { epoch, offset: 0 };
    this.options.logger.warn({ channel, epoch, headOffset }, "channel history lost in Redis; subscribers resync to a new epoch");
    this.options.delivered.moveTo(channel, head);
    this.options.told.reset(channel, head);
    this.options.onReset(channel, head);
  }
}
