/**
 * `npm run bench:connections -- [--workers N] [--steps 1000,5000,…] [--load-processes K]
 *  [--messages-per-second M] [--measure-ms T] [--connection-rate R] [--concurrency C] [--profile DIR]
 *  [--heap-snapshot DIR] [--server pusher|baseline]`
 *
 * How many subscribed websocket connections one host holds, and what each costs: one pusher tree
 * (admission control at its defaults) is filled step by step to each total in `--steps` by K load
 * processes of bare websocket clients (raw-subscriber.ts), each from its own source address
 * 127.0.0.x and below this machine's per-process open-file limit. At every step: the connect
 * rate of that step's new connections, the tree's RSS (and per connection, above the idle tree),
 * then M messages/s spread over 20 channels for T ms and their delivery latency. The connect phase
 * also reports the CPU seconds the server tree and the load processes spent on it, so a rate
 * bounded by admission pacing (R per worker, default: the server's own default) shows an idle
 * machine and one bounded by work shows busy cores. `--profile DIR` runs the server under
 * `node --cpu-prof` (bench/measure/profile-summary.ts reads the files); `--heap-snapshot DIR` has
 * every worker write a heap snapshot there once each step's connections are held (what the server
 * keeps per connection). `--server baseline` fills the plain socket.io baseline the same way.
 */
import { fork, type ChildProcess } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { cpuAndMemory, logLine as log, runMain } from "../entry.js";
import { ensureFdLimit } from "../fd-limit.js";
import { askEach, closeChildren } from "../load/child-ipc.js";
import { LatencyHistogram } from "../load/histogram.js";
import { publishPaced } from "../load/publisher.js";
import { table, thousands } from "../markdown.js";
import { childPids, cpuSecondsBetween, sampleCpu, treeRssBytes } from "../measure/process-tree.js";
import { startServer } from "../server-process.js";
import { baseline, pusher } from "../servers.js";
import type { HoldEvent } from "./hold-protocol.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHANNELS = Array.from({ length: 20 }, (_, i) => `hold.${i}`);
/** Below the 20,000 open files one process may hold here, with room for the process's own. */
const CONNECTIONS_PER_LOAD_PROCESS = 18_000;
const SETTLE_MS = 2_000;
const DRAIN_MS = 5_000;
const SNAPSHOT_TIMEOUT_MS = 300_000;

interface Step {
  connections: number;
  failed: number;
  connectSeconds: number;
  /** CPU seconds of the server tree and of the load processes during this step's connect phase. */
  connectServerCpu: number;
  connectLoadCpu: number;
  rssBytes: number;
  serverCpuSeconds: number;
  expected: number;
  received: number;
  p50Ms: number;
  p99Ms: number;
  disconnects: number;
  firstError?: string;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      workers: { type: "string", default: "4" },
      steps: { type: "string", default: "1000,5000,10000,20000,40000,60000" },
      "load-processes": { type: "string", default: "4" },
      "messages-per-second": { type: "string", default: "20" },
      "measure-ms": { type: "string", default: "5000" },
      "connection-rate": { type: "string" },
      concurrency: { type: "string", default: "100" },
      profile: { type: "string" },
      "heap-snapshot": { type: "string" },
      server: { type: "string", default: "pusher" },
    },
  });
  const workers = Number(values.workers);
  const steps = values.steps.split(",").map(Number);
  const processes = Number(values["load-processes"]);
  const messagesPerSecond = Number(values["messages-per-second"]);
  const measureMs = Number(values["measure-ms"]);
  if (Math.max(...steps) > processes * CONNECTIONS_PER_LOAD_PROCESS) throw new Error(`--steps beyond ${processes} × ${CONNECTIONS_PER_LOAD_PROCESS}: add --load-processes`);
  const exitCode = ensureFdLimit(CONNECTIONS_PER_LOAD_PROCESS + 1024, log);
  if (exitCode !== undefined) return exitCode;

  const descriptor = values.server === "baseline" ? baseline : pusher;
  // Admission control at its defaults unless --connection-rate (the throughput bench lifts it).
  const serverEnv = descriptor.env(workers);
  delete serverEnv.PUSHER_CONNECTION_RATE_PER_SECOND;
  delete serverEnv.PUSHER_MAX_CONNECTIONS;
  const snapshotDir = values["heap-snapshot"] === undefined ? undefined : path.resolve(values["heap-snapshot"]);
  const server = await startServer({ ...descriptor, env: () => serverEnv }, workers, {
    env: {
      ...(values["connection-rate"] === undefined ? {} : { PUSHER_CONNECTION_RATE_PER_SECOND: values["connection-rate"] }),
      // Writing a snapshot stops the worker's event loop for tens of seconds with thousands of
      // connections: the primary's watchdog would kill it mid-write and leave an empty file.
      ...(snapshotDir ? { PUSHER_WORKER_STALL_TIMEOUT_MS: "0" } : {}),
    },
    nodeArgs: [
      ...(values.profile ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(values.profile)}`] : []),
      ...(snapshotDir ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${snapshotDir}`] : []),
    ],
    stopGraceMs: values.profile ? 60_000 : 8_000,
  });
  const children: ChildProcess[] = Array.from({ length: processes }, () => fork(path.join(HERE, "raw-subscriber.js"), { stdio: ["ignore", "inherit", "inherit", "ipc"] }));
  const rows: Step[] = [];
  try {
    await sleep(SETTLE_MS);
    const idleRss = treeRssBytes(server.pid);
    const wsUrl = `${server.url.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`;
    let held = 0;
    for (const target of steps) {
      // New connections go to the processes holding the fewest, each its channels round-robin.
      const started = performance.now();
      const loadPids = children.map((c) => c.pid!);
      const serverCpuAtStart = sampleCpu(server.pid);
      const loadCpuAtStart = sampleCpu(...loadPids);
      const opened = await askEach<HoldEvent, "opened">(children, "opened", 600_000, (i) => {
        const share = Math.floor((target - held) / processes) + (i < (target - held) % processes ? 1 : 0);
        return {
          type: "open",
          url: wsUrl,
          localAddress: `127.0.0.${10 + i}`,
          channels: Array.from({ length: share }, (_, k) => CHANNELS[(held + k * processes + i) % CHANNELS.length]!),
          concurrency: Number(values.concurrency),
          timeoutMs: 30_000,
          attempts: 3,
        };
      });
      const connectSeconds = (performance.now() - started) / 1000;
      const connectServerCpu = cpuSecondsBetween(serverCpuAtStart, sampleCpu(server.pid));
      const connectLoadCpu = cpuSecondsBetween(loadCpuAtStart, sampleCpu(...loadPids));
      held = opened.reduce((sum, o) => sum + o.held, 0);
      const failed = opened.reduce((sum, o) => sum + o.failed, 0);
      await sleep(SETTLE_MS);
      const rssBytes = treeRssBytes(server.pid);
      if (snapshotDir) await snapshotWorkers(server.pid, snapshotDir);

      const run = `step-${target}`;
      await askEach<HoldEvent, "measuring">(children, "measuring", 10_000, () => ({ type: "measure", run }));
      const cpuBefore = sampleCpu(server.pid);
      const published = await publishPaced(
        { url: server.url + descriptor.batchPath, headers: descriptor.publishHeaders },
        { messagesPerSecond, durationMs: measureMs, channels: CHANNELS, run, payloadBytes: 100, maxBatch: descriptor.maxBatch, maxInFlight: 8, tickMs: 20, requestTimeoutMs: 10_000 },
      );
      const subscribersPer = new Map<string, number>();
      for (let i = 0; i < held; i++) subscribersPer.set(CHANNELS[i % CHANNELS.length]!, (subscribersPer.get(CHANNELS[i % CHANNELS.length]!) ?? 0) + 1);
      let expected = 0;
      for (const [channel, count] of published.acceptedPerChannel) expected += count * (subscribersPer.get(channel) ?? 0);
      let reports = await askEach<HoldEvent, "report">(children, "report", 10_000, () => ({ type: "report" }));
      const drainUntil = performance.now() + DRAIN_MS;
      while (reports.reduce((sum, r) => sum + r.received, 0) < expected && performance.now() < drainUntil) {
        await sleep(200);
        reports = await askEach<HoldEvent, "report">(children, "report", 10_000, () => ({ type: "report" }));
      }
      const serverCpuSeconds = cpuSecondsBetween(cpuBefore, sampleCpu(server.pid));
      const histogram = new LatencyHistogram();
      for (const r of reports) histogram.merge(r.histogram);
      const firstError = opened.find((o) => o.firstError)?.firstError;
      rows.push({
        connections: held,
        failed,
        connectSeconds,
        connectServerCpu,
        connectLoadCpu,
        rssBytes,
        serverCpuSeconds,
        expected,
        received: reports.reduce((sum, r) => sum + r.received, 0),
        p50Ms: histogram.quantile(0.5),
        p99Ms: histogram.quantile(0.99),
        disconnects: reports.reduce((sum, r) => sum + r.disconnects, 0),
        ...(firstError ? { firstError } : {}),
      });
      log(`${held} held (${failed} failed${firstError ? `: ${firstError}` : ""}) in ${connectSeconds.toFixed(1)} s, connect CPU server ${connectServerCpu.toFixed(1)} s / load ${connectLoadCpu.toFixed(1)} s, RSS ${(rssBytes / 2 ** 20).toFixed(0)} MB, p99 ${histogram.quantile(0.99).toFixed(1)} ms`);
      if (failed > 0 && held < target) break;
    }
    process.stdout.write(`${report(rows, idleRss, { workers, processes, messagesPerSecond, measureMs })}\n`);
    return 0;
  } finally {
    await closeChildren(children, { type: "close" });
    await server.stop();
  }
}

/** Signals every worker (the server's children) to write a heap snapshot and waits until each file stops growing. */
async function snapshotWorkers(primaryPid: number, dir: string): Promise<void> {
  const before = new Set(readdirSync(dir));
  const workers = childPids(primaryPid);
  for (const pid of workers) process.kill(pid, "SIGUSR2");
  let sizes = "";
  const giveUpAt = Date.now() + SNAPSHOT_TIMEOUT_MS;
  for (;;) {
    if (Date.now() > giveUpAt) throw new Error(`heap snapshots not written to ${dir} within ${SNAPSHOT_TIMEOUT_MS} ms`);
    await sleep(1_000);
    const files = readdirSync(dir).filter((f) => f.endsWith(".heapsnapshot") && !before.has(f));
    const fileSizes = files.map((f) => statSync(path.join(dir, f)).size);
    const now = fileSizes.join(",");
    // V8 creates the file before it writes the first byte (a large heap takes seconds to walk).
    if (files.length === workers.length && !fileSizes.includes(0) && now === sizes) break;
    sizes = now;
  }
  log(`heap snapshots of ${workers.length} workers written to ${dir}`);
}

function report(rows: Step[], idleRss: number, setup: { workers: number; processes: number; messagesPerSecond: number; measureMs: number }): string {
  const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);
  let previous = { connections: 0, connectSeconds: 0 };
  const rowsTable = table(
    ["connections", "connect rate /s (this step)", "connect phase CPU s: server / load", "tree RSS MB", "KB/connection above idle", `deliveries/s at ${setup.messagesPerSecond} msg/s`, "server CPU s", "p50 / p99 ms", "received / expected", "notes"],
    rows.map((row) => {
      const rate = (row.connections - previous.connections) / row.connectSeconds;
      previous = row;
      const notes = [row.failed > 0 ? `${row.failed} failed (${row.firstError ?? "?"})` : "", row.disconnects > 0 ? `${row.disconnects} disconnected` : ""].filter(Boolean).join("; ");
      return [
        thousands(row.connections),
        rate.toFixed(0),
        `${row.connectServerCpu.toFixed(1)} / ${row.connectLoadCpu.toFixed(1)} in ${row.connectSeconds.toFixed(1)} s`,
        mb(row.rssBytes),
        ((row.rssBytes - idleRss) / 1024 / row.connections).toFixed(1),
        ((row.expected * 1000) / (setup.measureMs || 1)).toFixed(0),
        row.serverCpuSeconds.toFixed(2),
        `${row.p50Ms.toFixed(1)} / ${row.p99Ms.toFixed(1)}`,
        `${row.received} / ${row.expected}`,
        notes || "-",
      ];
    }),
  );
  return [
    `Date: ${new Date().toISOString()}. Machine: ${cpuAndMemory()}; ${setup.workers} server workers, ${setup.processes} load processes (bare websocket clients) on the same machine.`,
    "",
    `Idle tree before any client: ${mb(idleRss)} MB. Each step adds connections, then publishes ${setup.messagesPerSecond} msg/s over 20 channels for ${setup.measureMs} ms.`,
    "",
    rowsTable,
  ].join("\n");
}

runMain(main);
