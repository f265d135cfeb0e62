/**
 * How many replicas a `durability: replica` publish waits for (WAIT), from the master's
 * `INFO replication`: every connected replica that is syncing or has acknowledged the replication
 * stream within `maxLagSeconds`, and never fewer than one.
 *
 * Why every one and not `WAIT 1`: with Sentinel at a short down-after, a failover can be followed
 * by a second one that promotes the *other* replica, and the write held by the first promoted
 * replica alone is then discarded when it resyncs from the new master (issue 10: every channel's
 * history lost). A write on every replica survives whichever one Sentinel picks. A syncing replica
 * (state other than online) is waited for because it is the one such a second failover can
 * promote; a replica silent for longer than `maxLagSeconds` is stalled or cut off, and Sentinel does
 * not promote one it cannot reach, so waiting for it would only stop publishing.
 */
export function replicasToWaitFor(info: string, maxLagSeconds: number): number {
  let count = 0;
  for (const line of info.split(/\r?\n/)) {
    // slave0:ip=10.0.0.2,port=6379,state=online,offset=123,lag=0
    if (!/^slave\d+:/.test(line)) continue;
    const fields = new Map(line.slice(line.indexOf(":") + 1).split(",").map((pair) => pair.split("=") as [string, string]));
    const lag = Number(fields.get("lag") ?? 0);
    if (fields.get("state") !== "online" || lag <= maxLagSeconds) count++;
  }
  return Math.max(1, count);
}
