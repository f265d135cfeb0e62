/**
 * A log-bucketed latency histogram (HDR-like): each bucket is 1 % wider than the last, from
 * 0.01 ms up, so merging the children's histograms gives p50/p99 within 1 % without shipping
 * every sample over IPC.
 */
const MIN_MS = 0.01;
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
/** Enough buckets to reach ~2 minutes; anything later lands in the last one. */
const BUCKETS = Math.ceil(Math.log(120_000 / MIN_MS) / LOG_GROWTH) + 1;

/** Counts per bucket; plain numbers so it crosses IPC as JSON. */
export type HistogramCounts = number[];

export class LatencyHistogram {
  readonly counts: HistogramCounts;
  total = 0;

  constructor(counts?: HistogramCounts) {
    this.counts = counts ? counts.slice() : new Array<number>(BUCKETS).fill(0);
    for (const c of this.counts) this.total += c;
  }

  record(ms: number): void {
    const index = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / LOG_GROWTH));
    this.counts[index] = (this.counts[index] ?? 0) + 1;
    this.total += 1;
  }

  merge(other: HistogramCounts): void {
    for (let i = 0; i < BUCKETS; i++) {
      const c = other[i] ?? 0;
      this.counts[i] = (this.counts[i] ?? 0) + c;
      this.total += c;
    }
  }

  /** The upper bound (ms) of the bucket holding the q-th quantile (0 < q ≤ 1); NaN when empty. */
  quantile(q: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= rank) return MIN_MS * GROWTH ** i;
    }
    return MIN_MS * GROWTH ** (BUCKETS - 1);
  }
}
