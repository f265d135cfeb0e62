import { settingName } from "../config/doc.js";
import { retryUntil } from "./retry-until.js";
import type { RedisSettings } from "./connections.js";
import { readSentinelStatus, type SentinelReport, type SentinelStatus } from "./sentinel-admin.js";
import { isAuthError, isHealthy, onlineReplicas, withAdmin } from "./sentinel-commands.js";
import { viewProblems } from "./sentinel-view.js";

/** A prune refused or stopped part way, with what the operator should look at. */
export class PruneError extends Error {
  override name = "PruneError";
}

type ReachableReport = Extract<SentinelReport, { reachable: true }>;

/** Refuses to start unless every sentinel answers, they agree on the master and quorum holds. */
function preconditions(status: SentinelStatus): { master: string; sentinels: ReachableReport[] } {
  const unreachable = status.sentinels.flatMap((s) => (s.reachable ? [] : [`${s.address} (${s.error})`]));
  if (unreachable.length > 0) {
    throw new PruneError(
      `not pruning: ${unreachable.join(", ")} did not answer, and resetting the others would leave fewer sentinels for quorum; bring it back, or drop it from ${settingName("redis.sentinels")} first`,
    );
  }
  const sentinels = status.sentinels as ReachableReport[];
  if (!status.agreed || status.master === null) {
    const said = sentinels.map((s) => `${s.address} says ${s.master ?? "none"}`).join(", ");
    throw new PruneError(`not pruning: the sentinels do not agree on the master of "${status.name}" (${said}); if a failover is running, try again when it is over`);
  }
  if (!status.quorumOk) {
    const failing = sentinels.flatMap((s) => (s.quorum.ok ? [] : [`${s.address} (${s.quorum.message})`]));
    throw new PruneError(`not pruning: CKQUORUM fails on ${failing.join(", ")}`);
  }
  return { master: status.master, sentinels };
}

function describe(kind: string, view: { address: string; flags: string[] }): string {
  return `${kind} ${view.address} (${view.flags.join(",")})`;
}

/**
 * `pusher sentinel prune`: makes every sentinel forget replicas and sentinels that are gone. One
 * sentinel at a time gets SENTINEL RESET, then must list exactly the replicas the master has
 * online, know its live fellow sentinels again and pass CKQUORUM before the next is reset, so
 * quorum is never lost. `report` receives one line per step.
 */
export async function pruneSentinels(redis: RedisSettings, report: (line: string) => void, timeoutMs = 30_000): Promise<void> {
  const { master, sentinels } = preconditions(await readSentinelStatus(redis));
  let live: string[];
  try {
    live = await withAdmin(master, redis.password, onlineReplicas);
  } catch (err) {
    const hint = isAuthError(err) ? `set ${settingName("redis.password")} to the master's requirepass` : "is it reachable from this host?";
    throw new PruneError(`not pruning: cannot read INFO replication from the master ${master} (${(err as Error).message}); ${hint}`);
  }
  report(`master ${master}; replicas online: ${live.length > 0 ? live.join(", ") : "none"}`);

  for (const [index, sentinel] of sentinels.entries()) {
    const peers = sentinel.sentinels.filter(isHealthy).map((p) => p.address);
    const stale = [
      ...sentinel.replicas.filter((r) => !live.includes(r.address)).map((r) => describe("replica", r)),
      ...sentinel.sentinels.filter((p) => !isHealthy(p)).map((p) => describe("sentinel", p)),
    ];
    const started = Date.now();
    await withAdmin(sentinel.address, redis.sentinelPassword, (client) => client.call("SENTINEL", "RESET", redis.name));
    try {
      await retryUntil(
        async () => {
          // A fresh connection each time: one that timed out must not fail every later attempt.
          const problems = await withAdmin(sentinel.address, redis.sentinelPassword, (client) => viewProblems(client, redis.name, { replicas: live, sentinels: peers }));
          if (problems.length > 0) throw new Error(problems.join("; "));
        },
        { timeoutMs, intervalMs: 100 },
      );
    } catch (err) {
      const untouched = sentinels.slice(index + 1).map((s) => s.address);
      throw new PruneError(
        `${sentinel.address} was reset but did not see the topology again within ${timeoutMs} ms: ${(err as Error).message}` +
          (untouched.length > 0 ? `; stopped before resetting ${untouched.join(", ")}` : ""),
      );
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    report(
      `reset ${sentinel.address}: forgot ${stale.length > 0 ? stale.join(", ") : "nothing stale"}; ` +
        `sees replicas ${live.join(", ") || "none"} and sentinels ${peers.join(", ") || "none"}, quorum OK, after ${seconds} s`,
    );
  }
}
