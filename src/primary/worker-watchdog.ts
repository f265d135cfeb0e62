import type { Worker } from "node:cluster";
import { isWorkerToPrimary, sendToWorker } from "../ipc/control.js";
import type { Logger } from "../ops/logger.js";

/**
 * Kills a worker whose event loop has stopped answering (stopped, wedged in a loop, swapping):
 * sticky routing would otherwise keep handing it connections — least-connection favours it, as
 * its count stops moving — and its clients would hang. The pool respawns it like any dead worker.
 */
export class WorkerWatchdog {
  private readonly lastSeen = new Map<Worker, { index: number; at: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stallTimeoutMs: number,
    private readonly logger: Logger,
  ) {}

  watch(worker: Worker, index: number): void {
    if (this.stallTimeoutMs === 0) return;
    this.lastSeen.set(worker, { index, at: Date.now() });
    worker.on("message", (message) => {
      const seen = this.lastSeen.get(worker);
      if (seen && isWorkerToPrimary(message)) seen.at = Date.now();
    });
    worker.once("exit", () => this.lastSeen.delete(worker));
  }

  start(): void {
    if (this.stallTimeoutMs === 0) return;
    this.timer = setInterval(() => this.check(), Math.min(1000, Math.max(50, this.stallTimeoutMs / 4)));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const now = Date.now();
    for (const [worker, seen] of this.lastSeen) {
      if (now - seen.at > this.stallTimeoutMs) {
        this.lastSeen.delete(worker);
        this.logger.error({ index: seen.index, workerPid: worker.process.pid, silentMs: now - seen.at }, "worker stalled; killing it");
        worker.process.kill("SIGKILL");
      } else {
        sendToWorker(worker, { t: "worker:ping" });
      }
    }
  }
}
