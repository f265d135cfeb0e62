/**
 * `npm run bench:faults -- [--rounds R] [--faults a,b,...] [--durability leader|replica] [--write] [--logs DIR]`
 *
 * The fault bench: every fault (default all of them, see faults.ts) R times (default 5), rounds
 * interleaved (each fault once, then again) so the machine's drift hits every fault alike. Prints
 * a summary and a per-round table; `--write` puts them, with the command, into docs/benchmarks.md;
 * `--logs DIR` keeps every host's log and nginx's error log per round.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { writeResults, faultsSection } from "../docs-writer.js";
import { cpuAndMemory, logLine, runMain } from "../entry.js";
import { ensureFdLimit } from "../fd-limit.js";
import { analyse, failedRound, type FaultResult } from "./analysis.js";
import { faults, type Fault } from "./faults.js";
import { faultPlan, type Durability, type FaultPlan } from "./plan.js";
import { faultRounds, faultSummary } from "./report.js";
import { runFaultRound } from "./round.js";
import { ROOT } from "../../test/helpers/root.js";

const DOC = path.join(ROOT, "docs/benchmarks.md");

function log(line: string): void {
  logLine(`${new Date().toISOString().slice(11, 19)} ${line}`);
}

function chosenFaults(list: string): Fault[] {
  if (list === "all") return [...faults];
  return list.split(",").map((name) => {
    const fault = faults.find((f) => f.name === name.trim());
    if (fault === undefined) throw new Error(`unknown fault "${name}": use ${faults.map((f) => f.name).join(", ")} or all`);
    return fault;
  });
}

function durabilityOf(value: string): Durability {
  if (value !== "leader" && value !== "replica") throw new Error(`--durability is leader or replica, not "${value}"`);
  return value;
}

/** How many subscribers poll, as placed by the subscriber processes (see SubscriberPlan). */
function pollingShare(plan: FaultPlan): number {
  const perProcess = plan.subscribers / plan.clientProcesses;
  let polling = 0;
  for (let i = 0; i < perProcess; i++) if (plan.transports[Math.floor(i / plan.channels) % plan.transports.length]!.includes("polling")) polling++;
  return polling * plan.clientProcesses;
}

/** What a round is, in one paragraph, so the tables can be read without the code. */
function describePlan(plan: FaultPlan, durability: Durability, chosen: Fault[]): string {
  return [
    `Each round: a fresh Sentinel topology (master, ${plan.replicas} replicas, 3 sentinels, down-after ${plan.downAfterMs} ms);`,
    `${plan.hosts} hosts × ${plan.workersPerHost} workers on it (publish.durability ${durability}, publish.timeoutMs ${plan.publishTimeoutMs}) behind the shipped nginx;`,
    `${plan.subscribers} pusher-client subscribers through nginx on ${plan.channels} channels (${pollingShare(plan)} of them long-polling, the rest websocket), from ${plan.clientProcesses * plan.sourceAddresses} loopback source addresses;`,
    `${plan.httpPerSecond} single publishes/s to /v1/publish through nginx and ${plan.ingressPerSecond} entries/s XADDed to the Redis ingress (each with an id${durability === "replica" ? ", then WAIT 1" : ""});`,
    `the fault ${plan.beforeFaultMs / 1000} s in; publishing goes on ${plan.afterFaultMs / 1000} s after it (at least ${plan.settleMs / 1000} s after its last step);`,
    `an HTTP publish not answered within ${(plan.publishTimeoutMs + plan.answerMarginMs) / 1000} s counts as unanswered (it is waited for up to ${plan.abandonAfterMs / 1000} s: "never" = no answer by then); an ingress entry not confirmed by then (XADD${durability === "replica" ? " and WAIT 1" : ""}) is not acknowledged, as a refused publish;`,
    `where the fault restores Redis servers, pusher's ingress backlog is given up to ${plan.backlogDrainMs / 1000} s to drain; subscribers get ${plan.drainMs / 1000} s to catch up.`,
    "Faults: " + chosen.map((f) => `**${f.name}**: ${f.describe}`).join("; ") + ".",
  ].join(" ");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string", default: "5" },
      faults: { type: "string", default: "all" },
      durability: { type: "string", default: "leader" },
      write: { type: "boolean", default: false },
      logs: { type: "string" },
    },
  });
  const rounds = Number(values.rounds);
  const chosen = chosenFaults(values.faults);
  const durability = durabilityOf(values.durability);
  const logsDir = values.logs !== undefined ? path.resolve(values.logs) : undefined;
  // nginx's and the clients' sockets, the publishes a failover holds, with room to spare.
  const exitCode = ensureFdLimit(faultPlan.maxInFlight * 2 + faultPlan.subscribers * 4 + 1024, log);
  if (exitCode !== undefined) return exitCode;
  if (logsDir !== undefined) mkdirSync(logsDir, { recursive: true });

  const started = Date.now();
  const results: FaultResult[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const fault of chosen) {
      const roundLog = (line: string): void => log(`[${fault.name} ${round}/${rounds}] ${line}`);
      let result: FaultResult;
      try {
        result = analyse(await runFaultRound(fault, faultPlan, { round, durability, log: roundLog, ...(logsDir !== undefined ? { logsDir } : {}) }));
      } catch (err) {
        roundLog(`round failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        result = failedRound(fault.name, round, durability, err);
      }
      roundLog(result.misses.length === 0 ? "target met" : `target missed: ${result.misses.join(", ")}`);
      results.push(result);
    }
  }
  const minutes = (Date.now() - started) / 60_000;
  const machine = `${cpuAndMemory()}; everything on the same machine`;
  const command = `npm run bench:faults -- ${process.argv.slice(2).join(" ")}`.trim();
  const block = [
    `Command: \`${command}\` (${minutes.toFixed(1)} minutes)`,
    "",
    `Date: ${new Date().toISOString()}. Machine: ${machine}.`,
    "",
    describePlan(faultPlan, durability, chosen),
    "",
    faultSummary(results),
    "",
    "Every round:",
    "",
    faultRounds(results),
  ].join("\n");
  process.stdout.write(`${block}\n`);
  if (values.write) {
    writeResults(DOC, block, faultsSection(durability));
    log(`wrote ${DOC}`);
  }
  return results.every((r) => r.misses.length === 0) ? 0 : 2;
}

runMain(main);
