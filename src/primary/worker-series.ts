import type { Worker } from "node:cluster";
import { isWorkerToPrimary, sendToWorker, type WorkerStats } from "../ipc/control.js";
import type { ConsoleSeries, WorkerSeries as Series } from "../protocol/console-series.js";

/** One sample per slot this often; the console draws the last SAMPLES of them. */
export const SAMPLE_INTERVAL_MS = 5000;
/** Five minutes of samples per worker slot. */
const SAMPLES = 60;

interface Slot {
  latest: WorkerStats | undefined;
  /** Deliveries at the previous sample, to turn the worker's running total into a rate. */
  deliveriesBefore: number;
  connections: number[];
  messageRate: number[];
}

/**
 * Each worker slot's connections and message rate over the last minutes, for the console's charts:
 * sampled from the stats every worker reports (the same figures as pusher_connections and
 * pusher_deliveries_total), in a fixed ring per slot, so memory does not grow with uptime.
 */
export class WorkerSeries {
  private readonly slots: Slot[];
  private at = Date.now();

  constructor(size: number) {
    this.slots = Array.from({ length: size }, () => ({ latest: undefined, deliveriesBefore: 0, connections: [], messageRate: [] }));
  }

  /** Records the worker's reports and answers its requests for the series. */
  attach(worker: Worker, index: number): void {
    worker.on("message", (message) => {
      if (!isWorkerToPrimary(message)) return;
      if (message.t === "worker:stats") this.slots[index]!.latest = message.stats;
      else if (message.t === "series:collect") sendToWorker(worker, { t: "series:data", id: message.id, series: this.snapshot() });
    });
    worker.once("exit", () => {
      const slot = this.slots[index]!;
      slot.latest = undefined;
      // A respawned worker counts its deliveries from 0.
      slot.deliveriesBefore = 0;
    });
  }

  start(): void {
    setInterval(() => this.sample(), SAMPLE_INTERVAL_MS).unref();
  }

  snapshot(): ConsoleSeries {
    const workers: Series[] = this.slots.map((slot, index) => ({ index, connections: [...slot.connections], messageRate: [...slot.messageRate] }));
    return { intervalMs: SAMPLE_INTERVAL_MS, at: this.at, workers };
  }

  private sample(): void {
    const now = Date.now();
    const seconds = Math.max(0.001, (now - this.at) / 1000);
    this.at = now;
    for (const slot of this.slots) {
      const deliveries = slot.latest?.deliveries ?? 0;
      push(slot.connections, slot.latest?.connections ?? 0);
      push(slot.messageRate, Math.round((Math.max(0, deliveries - slot.deliveriesBefore) / seconds) * 10) / 10);
      slot.deliveriesBefore = deliveries;
    }
  }
}

function push(ring: number[], value: number): void {
  ring.push(value);
  if (ring.length > SAMPLES) ring.shift();
}
