/** Runs the failover rounds, alternating the servers, and renders their tables. */
import type { ServerDescriptor } from "../servers.js";
import { analyse, type FailoverResult } from "./analysis.js";
import type { FailoverPlan } from "./plan.js";
import { failoverRounds, failoverTable } from "./report.js";
import { runFailoverRound } from "./round.js";

export interface BenchOptions {
  rounds: number;
  log(line: string): void;
  /** Keep every host's log here (see RoundContext). */
  logsDir?: string;
}

export async function runFailoverBench(chosen: ServerDescriptor[], plan: FailoverPlan, options: BenchOptions): Promise<FailoverResult[]> {
  const results: FailoverResult[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    for (const server of chosen) {
      const log = (line: string): void => options.log(`[${server.name}/failover ${round}] ${line}`);
      const observation = await runFailoverRound(server, plan, { round, log, logsDir: options.logsDir });
      results.push(analyse(observation, round));
    }
  }
  return results;
}

/** What a failover round is, in one paragraph, so the tables can be read without the code. */
export function describePlan(plan: FailoverPlan): string {
  return [
    `Each round: a fresh Sentinel topology (master, ${plan.replicas} replicas, 3 sentinels, down-after ${plan.downAfterMs} ms),`,
    `${plan.hosts} hosts of 1 worker each on it, ${plan.subscribersPerHost} websocket subscribers per host on one channel,`,
    `${plan.publishesPerSecond} single publishes/s spread over the hosts in turn (at most ${plan.maxInFlight} in flight, each waiting up to ${plan.requestTimeoutMs / 1000} s);`,
    `the master is SIGKILLed after ${plan.beforeFaultMs / 1000} s, publishing goes on for ${plan.afterFaultMs / 1000} s, then every answer is awaited`,
    `and the subscribers get up to ${plan.drainMs / 1000} s to receive every acknowledged message.`,
  ].join(" ");
}

export function failoverBlock(results: FailoverResult[], plan: FailoverPlan): string {
  return [describePlan(plan), "", "Counts summed over the rounds; times as median (min–max):", "", failoverTable(results), "", "Every round:", "", failoverRounds(results)].join("\n");
}
