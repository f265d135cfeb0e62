/** GET /console/series.json: the console's per-worker charts (the primary keeps the samples). */

/** One worker slot's recent figures, oldest first, one sample per `intervalMs`. */
export interface WorkerSeries {
  index: number;
  connections: number[];
  /** Deliveries per second over each interval. */
  messageRate: number[];
}

/** What GET /console/series.json answers. */
export interface ConsoleSeries {
  intervalMs: number;
  /** When the newest sample was taken (ms since the epoch). */
  at: number;
  workers: WorkerSeries[];
}
