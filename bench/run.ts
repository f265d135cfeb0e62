/**
 * `npm run bench -- [--scenario fanout|steady|all|failover] [--server baseline|pusher|all] [--write]
 *  [--workers N] [--load-processes K] [--repeat R] [--profile DIR] [--logs DIR] [--server-node-args "…"]`
 *
 * Runs each scenario against each server, one after another (servers alternate, R rounds), and
 * prints the Markdown tables; `--profile DIR` runs the servers under `node --cpu-prof` (every
 * server process writes a .cpuprofile there when it exits: not for the numbers, for the why);
 * `--server-node-args` gives every server process Node flags (e.g. `--max-semi-space-size=1`);
 * `--write` puts them, with the exact command and the machine, into docs/benchmarks.md.
 *
 * `--scenario failover` is the Redis master failover bench instead (two hosts of one worker on a
 * Sentinel topology; needs redis-server): it is not part of `all`, which measures throughput on
 * one host and needs no Redis. It takes `--server`, `--repeat`, `--write` (its own section) and
 * `--logs DIR`, which keeps every host's log there, to see what a server did when a round went wrong.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { cpuAndMemory, logLine as log, runMain } from "./entry.js";
import { failoverSection, throughputSection, writeResults, type DocSection } from "./docs-writer.js";
import { runFailoverBench, failoverBlock } from "./failover/bench.js";
import { failoverPlan } from "./failover/plan.js";
import { ensureFdLimit } from "./fd-limit.js";
import { detailsTable, resultsTable, type RunRow } from "./report.js";
import { runScenario } from "./scenario-runner.js";
import { scenarios } from "./scenarios.js";
import { servers, type ServerDescriptor } from "./servers.js";
import { ROOT } from "../test/helpers/root.js";

const DOC = path.join(ROOT, "docs/benchmarks.md");

function pick<T extends { name: string }>(all: readonly T[], wanted: string, what: string): T[] {
  if (wanted === "all") return [...all];
  const found = all.filter((x) => x.name === wanted);
  if (found.length === 0) throw new Error(`unknown ${what} "${wanted}": use ${all.map((x) => x.name).join(", ")} or all`);
  return found;
}

interface Options {
  scenario: string;
  workers: number;
  loadProcesses: number;
  repeats: number;
  serverNodeArgs: string[];
  logsDir?: string;
}

/** The tables to print, or the exit code of a re-run that printed them (see ensureFdLimit). */
type Outcome = { block: string } | { exitCode: number };

async function throughput(chosenServers: ServerDescriptor[], options: Options): Promise<Outcome> {
  const chosenScenarios = pick(scenarios, options.scenario, "scenario");
  const exitCode = ensureFdLimit(Math.max(...chosenScenarios.map((s) => s.connections)) + 1024, log);
  if (exitCode !== undefined) return { exitCode };

  const results: RunRow[] = [];
  for (const scenario of chosenScenarios) {
    for (let repeat = 1; repeat <= options.repeats; repeat++) {
      for (const server of chosenServers) {
        results.push({ ...(await runScenario(server, scenario, { ...options, log })), repeat });
      }
    }
  }
  const machine = `${cpuAndMemory()}; ${options.workers} server workers, ${options.loadProcesses} load processes on the same machine`;
  return {
    block: [
      `Date: ${new Date().toISOString()}. Machine: ${machine}.`,
      "",
      `Medians over ${options.repeats} run(s) each, (min–max) where more than one:`,
      "",
      resultsTable(results),
      "",
      "Every run:",
      "",
      detailsTable(results),
    ].join("\n"),
  };
}

async function failover(chosenServers: ServerDescriptor[], options: Options): Promise<Outcome> {
  // The publisher's sockets (one per publish in flight) and the subscribers', with room to spare.
  const exitCode = ensureFdLimit(failoverPlan.maxInFlight + failoverPlan.hosts * failoverPlan.subscribersPerHost + 1024, log);
  if (exitCode !== undefined) return { exitCode };
  if (options.logsDir !== undefined) mkdirSync(options.logsDir, { recursive: true });
  const results = await runFailoverBench(chosenServers, failoverPlan, { rounds: options.repeats, log, logsDir: options.logsDir });
  const machine = `${cpuAndMemory()}; servers, Redis, sentinels and clients on the same machine`;
  return { block: [`Date: ${new Date().toISOString()}. Machine: ${machine}.`, "", failoverBlock(results, failoverPlan)].join("\n") };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      scenario: { type: "string", default: "all" },
      server: { type: "string", default: "all" },
      write: { type: "boolean", default: false },
      workers: { type: "string", default: "2" },
      "load-processes": { type: "string", default: "4" },
      repeat: { type: "string", default: "3" },
      profile: { type: "string" },
      logs: { type: "string" },
      "server-node-args": { type: "string", default: "" },
    },
  });
  const chosenServers = pick(servers, values.server, "server");
  const options: Options = {
    scenario: values.scenario,
    workers: Number(values.workers),
    loadProcesses: Number(values["load-processes"]),
    repeats: Number(values.repeat),
    serverNodeArgs: [
      ...values["server-node-args"].split(" ").filter(Boolean),
      ...(values.profile ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(values.profile)}`] : []),
    ],
    logsDir: values.logs !== undefined ? path.resolve(values.logs) : undefined,
  };
  const isFailover = values.scenario === "failover";
  const section: DocSection = isFailover ? failoverSection : throughputSection;
  const outcome = isFailover ? await failover(chosenServers, options) : await throughput(chosenServers, options);
  if ("exitCode" in outcome) return outcome.exitCode;

  const command = `npm run bench -- ${process.argv.slice(2).join(" ")}`.trim();
  const block = `Command: \`${command}\`\n\n${outcome.block}`;
  process.stdout.write(`${block}\n`);
  if (values.write) {
    writeResults(DOC, block, section);
    log(`wrote ${DOC}`);
  }
  return 0;
}

runMain(main);
