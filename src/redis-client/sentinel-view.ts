import type { Redis } from "ioredis";
import { checkQuorum, isHealthy, replicasOf, sentinelsOf } from "./sentinel-commands.js";

export interface ExpectedView {
  /** Every replica the sentinel should list, linked and up; it should list no other. */
  replicas: string[];
  /** Fellow sentinels it should know and reach (others may be listed too). */
  sentinels: string[];
}

/**
 * What keeps `sentinel` from seeing the topology as expected, one problem a line; empty when it
 * lists exactly the expected replicas, each healthy with its master link up, knows the expected
 * sentinels, and SENTINEL CKQUORUM answers OK.
 */
export async function viewProblems(sentinel: Redis, name: string, expected: ExpectedView): Promise<string[]> {
  const [replicas, peers, quorum] = await Promise.all([replicasOf(sentinel, name), sentinelsOf(sentinel, name), checkQuorum(sentinel, name)]);
  const problems: string[] = [];
  for (const address of expected.replicas) {
    const replica = replicas.find((r) => r.address === address);
    if (replica === undefined) problems.push(`does not list replica ${address}`);
    else if (!isHealthy(replica) || replica.masterLinkStatus !== "ok") problems.push(`replica ${address} is ${replica.flags.join(",")}, master link ${replica.masterLinkStatus}`);
  }
  for (const replica of replicas) {
    if (!expected.replicas.includes(replica.address)) problems.push(`still lists replica ${replica.address} (${replica.flags.join(",")})`);
  }
  for (const address of expected.sentinels) {
    const peer = peers.find((p) => p.address === address);
    if (peer === undefined) problems.push(`does not know sentinel ${address}`);
    else if (!isHealthy(peer)) problems.push(`sentinel ${address} is ${peer.flags.join(",")}`);
  }
  if (!quorum.ok) problems.push(`CKQUORUM: ${quorum.message}`);
  return problems;
}
