import { monitorEventLoopDelay } from "node:perf_hooks";
import type { WorkerStats } from "../ipc/control.js";

const STATS_INTERVAL_MS = 2000;
const RESOLUTION_MS = 10;

/**
 * Sends this worker's connections, memory and event-loop lag to the primary every
 * STATS_INTERVAL_MS; the primary shows them in pm2 and the console. Lag is the p99 of the interval just ended, so
 * a stall shows up once and then clears instead of averaging away. It goes on while the worker
 * drains, so pm2 shows the connections falling.
 */
export function reportStats(connections: () => number, deliveries: () => number, send: (stats: WorkerStats) => void): void {
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  const timer = setInterval(() => {
    // The histogram records whole sampling intervals: lag is what exceeds the resolution.
    const lagMs = Math.max(0, delay.percentile(99) / 1e6 - RESOLUTION_MS);
    send({ connections: connections(), rssBytes: process.memoryUsage.rss(), loopLagMs: Math.round(lagMs * 100) / 100, deliveries: deliveries() });
    delay.reset();
  }, STATS_INTERVAL_MS);
  timer.unref();
}
