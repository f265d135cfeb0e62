/**
 * `npm run bench -- [--scenario fanout|steady|all] [--server baseline|pusher|all] [--write]
 *  [--workers N] [--load-processes K] [--repeat R] [--profile DIR]`
 *
 * Runs each scenario against each server, one after another (servers alternate, R rounds), and
 * prints the Markdown tables; `--profile DIR` runs the servers under `node --cpu-prof` (every
 * server process writes a .cpuprofile there when it exits: not for the numbers, for the why);
 * `--write` puts them, with the exact command and the machine, into docs/benchmarks.md.
 */
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writeResults } from "./docs-writer.js";
import { ensureFdLimit } from "./fd-limit.js";
import { detailsTable, resultsTable, type RunRow } from "./report.js";
import { runScenario } from "./scenario-runner.js";
import { scenarios } from "./scenarios.js";
import { servers } from "./servers.js";

const DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../docs/benchmarks.md");

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function pick<T extends { name: string }>(all: readonly T[], wanted: string, what: string): T[] {
  if (wanted === "all") return [...all];
  const found = all.filter((x) => x.name === wanted);
  if (found.length === 0) throw new Error(`unknown ${what} "${wanted}": use ${all.map((x) => x.name).join(", ")} or all`);
  return found;
}

function machine(workers: number, loadProcesses: number): string {
  const cpu = os.cpus()[0]?.model.trim() ?? "unknown CPU";
  const memGiB = (os.totalmem() / 2 ** 30).toFixed(0);
  return `${os.availableParallelism()} CPUs (${cpu}), ${memGiB} GiB, Linux ${os.release()}, Node ${process.version}; ${workers} server workers, ${loadProcesses} load processes on the same machine`;
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
    },
  });
  const chosenScenarios = pick(scenarios, values.scenario, "scenario");
  const chosenServers = pick(servers, values.server, "server");
  const workers = Number(values.workers);
  const loadProcesses = Number(values["load-processes"]);
  const repeats = Number(values.repeat);
  const serverNodeArgs = values.profile ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(values.profile)}`] : [];

  const exitCode = ensureFdLimit(Math.max(...chosenScenarios.map((s) => s.connections)) + 1024, log);
  if (exitCode !== undefined) return exitCode;

  const results: RunRow[] = [];
  for (const scenario of chosenScenarios) {
    for (let repeat = 1; repeat <= repeats; repeat++) {
      for (const server of chosenServers) {
        results.push({ ...(await runScenario(server, scenario, { workers, loadProcesses, serverNodeArgs, log })), repeat });
      }
    }
  }

  const command = `npm run bench -- ${process.argv.slice(2).join(" ")}`.trim();
  const block = [
    `Command: \`${command}\``,
    "",
    `Date: ${new Date().toISOString()}. Machine: ${machine(workers, loadProcesses)}.`,
    "",
    `Medians over ${repeats} run(s) each, (min–max) where more than one:`,
    "",
    resultsTable(results),
    "",
    "Every run:",
    "",
    detailsTable(results),
  ].join("\n");
  process.stdout.write(`${block}\n`);
  if (values.write) {
    writeResults(DOC, block);
    log(`wrote ${DOC}`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
