// tx2 (pm2's metrics API, shipped with pm2) has no types of its own; this is the part pusher uses.
declare module "tx2" {
  interface MetricOptions {
    name: string;
    unit?: string;
    /** Read every second, when pm2 samples the metrics. */
    value: () => number | string;
  }
  const tx2: { metric(options: MetricOptions): unknown };
  export default tx2;
}
