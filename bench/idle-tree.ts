/**
 * `npm run build && node dist/bench/idle-tree.js [--workers N] [--rounds R] [--settle-ms T] [--before MAIN_JS]`
 *
 * The idle tree, process by process: each server (pusher embedded, no Redis; the plain socket.io
 * baseline) is started R times, alternating, the way every bench starts it; once ready and
 * settled, before any client, the VmRSS of its primary and of each worker is read from /proc.
 * Prints each round and the medians per process. `--before` adds, in the same rounds, another
 * build of pusher (its dist/src/main.js, e.g. of `git archive main` built beside a node_modules)
 * to compare a change against. Run it under `flock -x /work/cpu.lock`, like every bench.
 */
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { cpuAndMemory, logLine as log, runMain } from "./entry.js";
import { fixed, spread, table } from "./markdown.js";
import { childPids, processRssBytes } from "./measure/process-tree.js";
import { startServer } from "./server-process.js";
import { baseline, pusher, type ServerDescriptor } from "./servers.js";

const rssMb = (pid: number): number => processRssBytes(pid) / 2 ** 20;

/** The primary's RSS, then each worker's (in pid order, so round to round they line up by fork order). */
async function idleProcesses(server: ServerDescriptor, workers: number, settleMs: number): Promise<number[]> {
  const running = await startServer(server, workers);
  try {
    await sleep(settleMs);
    const workerPids = childPids(running.pid).sort((a, b) => a - b);
    if (workerPids.length !== workers) throw new Error(`${server.name}: ${workerPids.length} workers, expected ${workers}`);
    return [rssMb(running.pid), ...workerPids.map(rssMb)];
  } finally {
    await running.stop();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      workers: { type: "string", default: "2" },
      rounds: { type: "string", default: "3" },
      "settle-ms": { type: "string", default: "2000" },
      before: { type: "string" },
    },
  });
  const workers = Number(values.workers);
  const rounds = Number(values.rounds);
  const settleMs = Number(values["settle-ms"]);
  log(`idle tree: ${workers} workers, ${rounds} alternating rounds, ${settleMs} ms settle; ${cpuAndMemory()}`);

  const columns = ["primary", ...Array.from({ length: workers }, (_, i) => `worker ${i + 1}`), "tree"];
  const measured: ServerDescriptor[] = [baseline, pusher];
  if (values.before !== undefined) measured.push({ ...pusher, name: "pusher before", script: path.resolve(values.before) });
  const samples = new Map<string, number[][]>(measured.map((server) => [server.name, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const server of measured) {
      const processes = await idleProcesses(server, workers, settleMs);
      const row = [...processes, processes.reduce((a, b) => a + b, 0)];
      samples.get(server.name)!.push(row);
      log(`round ${round} ${server.name}: ${row.map((mb, i) => `${columns[i]} ${mb.toFixed(1)}`).join(", ")} MB`);
    }
  }

  const rows = [...samples].map(([name, runs]) => [name, ...columns.map((_, i) => spread(runs.map((run) => run[i]!), (mb) => fixed(mb, 1)))]);
  process.stdout.write(`${table(["MB, median (min–max)", ...columns], rows)}\n`);
  return 0;
}

runMain(main);
