import type { Worker } from "node:cluster";
import { isWorkerToPrimary, type WorkerStats } from "../ipc/control.js";
import type { Logger } from "../ops/logger.js";

const MIB = 1024 * 1024;

/**
 * Publishes each worker's connections, memory and event-loop lag as pm2 custom metrics
 * (`pm2 monit`, `pm2 show pusher`). pm2 sees only the primary it forked, so the workers report
 * to the primary over IPC and the primary speaks pm2's metrics API (tx2) for them. Metrics are
 * keyed by worker slot, which a respawned worker keeps, so names stay stable across crashes.
 */
export class Pm2Metrics {
  private readonly stats = new Map<number, WorkerStats>();

  constructor(private readonly size: number) {}

  attach(worker: Worker, index: number): void {
    worker.on("message", (message) => {
      if (isWorkerToPrimary(message) && message.t === "worker:stats") this.stats.set(index, message.stats);
    });
    worker.once("exit", () => this.stats.delete(index));
  }

  /** Registers the metrics with pm2 when pm2 runs this process (it sets pm_id); elsewhere tx2 would only write to a stranger's IPC channel. */
  async publish(logger: Logger): Promise<void> {
    if (process.env.pm_id === undefined) return;
    const { default: tx2 } = await import("tx2");
    const perWorker = (index: number, read: (s: WorkerStats) => number) => () => {
      const stats = this.stats.get(index);
      return stats ? read(stats) : "down";
    };
    tx2.metric({ name: "connections", value: () => [...this.stats.values()].reduce((sum, s) => sum + s.connections, 0) });
    for (let index = 0; index < this.size; index++) {
      tx2.metric({ name: `worker ${index} connections`, value: perWorker(index, (s) => s.connections) });
      tx2.metric({ name: `worker ${index} memory`, unit: "MiB", value: perWorker(index, (s) => Math.round(s.rssBytes / MIB)) });
      tx2.metric({ name: `worker ${index} loop lag`, unit: "ms", value: perWorker(index, (s) => s.loopLagMs) });
    }
    logger.info({ workers: this.size }, "per-worker metrics published to pm2");
  }
}
