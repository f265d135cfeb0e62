/** The shape of one failover round: the same for every server. */
export interface FailoverPlan {
  /** Redis replicas beside the master (Sentinel promotes one of them). */
  replicas: number;
  /** Sentinel `down-after-milliseconds`: how long the master must be silent to be declared down. */
  downAfterMs: number;
  /** Appliance hosts, each its own process tree with one worker, all on the same topology. */
  hosts: number;
  subscribersPerHost: number;
  channel: string;
  /** Publishes are spread evenly over the hosts, one at a time (no batches), at this rate. */
  publishesPerSecond: number;
  /** A bound on the publisher's sockets; held back publishes go out late, as slots free. */
  maxInFlight: number;
  /** How long one publish may wait for its answer before it counts as an error. */
  requestTimeoutMs: number;
  beforeFaultMs: number;
  afterFaultMs: number;
  /** How long deliveries may trail the last answered publish before the rest count as missed. */
  drainMs: number;
  /** Bound on Sentinel's +switch-master after the fault. */
  switchTimeoutMs: number;
  connectTimeoutMs: number;
}

export const failoverPlan: FailoverPlan = {
  replicas: 2,
  downAfterMs: 1_000,
  hosts: 2,
  subscribersPerHost: 50,
  channel: "bench.failover",
  // 100 subscribers × 200/s = 20k deliveries/s: well inside 2 cores, so the failover is what shows.
  publishesPerSecond: 200,
  // Rate × request timeout: reached only by a server that lets requests time out, so the
  // schedule (and the count of publishes issued) holds even while both hosts keep every publish waiting.
  maxInFlight: 3_000,
  requestTimeoutMs: 15_000,
  beforeFaultMs: 3_000,
  afterFaultMs: 10_000,
  drainMs: 10_000,
  switchTimeoutMs: 30_000,
  connectTimeoutMs: 10_000,
};
