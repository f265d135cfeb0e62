import cluster, { type Worker } from "node:cluster";
import { EventEmitter } from "node:events";
import type { Logger } from "../ops/logger.js";
import { isWorkerToPrimary } from "../ipc/control.js";

export interface RespawnPolicy {
  /** First respawn delay; doubles with each crash inside the window. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A slot that crashes more than `maxCrashes` times within `windowMs` is not respawned again. */
  maxCrashes: number;
  windowMs: number;
}

export const DEFAULT_RESPAWN: RespawnPolicy = { baseDelayMs: 100, maxDelayMs: 10_000, maxCrashes: 5, windowMs: 60_000 };

interface Slot {
  index: number;
  worker?: Worker;
  crashes: number[];
  abandoned: boolean;
}

export interface WorkerPoolEvents {
  /** A worker (first start or respawn) reported that its handlers are installed. */
  ready: [worker: Worker, index: number];
  /** A worker died while the pool was running (it will be respawned unless its slot is abandoned). */
  died: [index: number];
  /** Every slot was abandoned: nothing serves any more. */
  exhausted: [];
}

/**
 * Keeps `size` workers alive: forks them with PUSHER_WORKER_INDEX, respawns a dead one with
 * exponential backoff, and gives up on a slot that crashes in a loop, saying so in the log.
 */
export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  private readonly slots: Slot[];
  private stopping = false;

  constructor(
    size: number,
    private readonly logger: Logger,
    private readonly onFork: (worker: Worker, index: number) => void,
    private readonly policy: RespawnPolicy = DEFAULT_RESPAWN,
  ) {
    super();
    this.slots = Array.from({ length: size }, (_, index) => ({ index, crashes: [], abandoned: false }));
  }

  start(): void {
    for (const slot of this.slots) this.fork(slot);
  }

  get workers(): Worker[] {
    return this.slots.flatMap((s) => (s.worker ? [s.worker] : []));
  }

  /** Stops respawning; the caller then tells the workers to drain. */
  stop(): void {
    this.stopping = true;
  }

  private fork(slot: Slot): void {
    const worker = cluster.fork({ PUSHER_WORKER_INDEX: String(slot.index) });
    slot.worker = worker;
    // A send to a worker that just died (EPIPE, ERR_IPC_CHANNEL_CLOSED) is emitted here when the
    // sender passed no callback; unheard, it would kill the primary and the whole host with it.
    worker.on("error", (err) => this.logger.warn({ err, index: slot.index, workerPid: worker.process.pid }, "IPC with a worker failed"));
    this.onFork(worker, slot.index);
    worker.on("message", (message) => {
      if (isWorkerToPrimary(message) && message.t === "worker:ready") {
        this.logger.info({ index: slot.index, workerPid: worker.process.pid }, "worker ready");
        this.emit("ready", worker, slot.index);
      }
    });
    worker.once("exit", (code, signal) => this.onExit(slot, worker, code, signal));
  }

  private onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker === worker) slot.worker = undefined;
    if (this.stopping) return;
    this.emit("died", slot.index);
    const now = Date.now();
    slot.crashes = slot.crashes.filter((t) => now - t < this.policy.windowMs);
    slot.crashes.push(now);
    if (slot.crashes.length > this.policy.maxCrashes) {
      slot.abandoned = true;
      this.logger.error(
        { index: slot.index, crashes: slot.crashes.length, windowMs: this.policy.windowMs },
        "worker crashes in a loop; not respawning it (fix the cause in the log above, then restart pusher)",
      );
      if (this.slots.every((s) => s.abandoned)) this.emit("exhausted");
      return;
    }
    const delay = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** (slot.crashes.length - 1));
    this.logger.warn({ index: slot.index, workerPid: worker.process.pid, code, signal, respawnInMs: delay }, "worker died");
    setTimeout(() => {
      if (!this.stopping) this.fork(slot);
    }, delay);
  }
}
