/**
 * Runs one scenario against one server: start it, measure idle RSS, connect and subscribe the
 * clients, warm up, then publish for the measured window and account for every delivery, the
 * server tree's CPU and its RSS. The only runner: every server goes through it the same way.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { LoadGenerator } from "./load/load-generator.js";
import { publishPaced, type PublishResult } from "./load/publisher.js";
import { busyFraction, sampleMachineCpu } from "./measure/machine-cpu.js";
import { cpuSecondsBetween, sampleCpu, treeRssBytes } from "./measure/process-tree.js";
import { channelNames, connectionChannels, messagesPerSecond, type Scenario } from "./scenarios.js";
import { startServer, type RunningServer } from "./server-process.js";
import type { ServerDescriptor } from "./servers.js";

export interface RunOptions {
  workers: number;
  loadProcesses: number;
  /** Node options for the server processes (e.g. `--cpu-prof`). */
  serverNodeArgs: string[];
  /** Progress lines (stderr), so the table on stdout stays clean. */
  log(line: string): void;
}

export interface RunResult {
  server: string;
  scenario: string;
  connections: number;
  subscribed: number;
  published: number;
  publishFailed: number;
  expected: number;
  received: number;
  windowSeconds: number;
  serverCpuSeconds: number;
  /** The share of the server CPU spent in its primary (routing, and sequencing for pusher). */
  primaryCpuSeconds: number;
  loadCpuSeconds: number;
  /** Fraction of the machine's CPU time that was busy during the window (everything, not only us). */
  machineBusy: number;
  p50Ms: number;
  p99Ms: number;
  /** Latency from the server's `ts` to arrival (the server sets ts when it accepts or emits). */
  serverTsP50Ms: number;
  serverTsP99Ms: number;
  publishResponseP50Ms: number;
  publishResponseP99Ms: number;
  idleRssBytes: number;
  loadRssBytes: number;
  outOfOrder: number;
  disconnects: number;
  notes: string[];
}

/** How long deliveries may trail the last publish before the rest count as lost. */
const DRAIN_MS = 5_000;
const SETTLE_MS = 1_000;

function expectedDeliveries(published: PublishResult, subscribersPerChannel: number): number {
  let messages = 0;
  for (const count of published.acceptedPerChannel.values()) messages += count;
  return messages * subscribersPerChannel;
}

export async function runScenario(server: ServerDescriptor, scenario: Scenario, options: RunOptions): Promise<RunResult> {
  const log = (line: string): void => options.log(`[${server.name}/${scenario.name}] ${line}`);
  const running: RunningServer = await startServer(server, options.workers, { nodeArgs: options.serverNodeArgs });
  let load: LoadGenerator | undefined;
  try {
    log(`ready at ${running.url} (pid ${running.pid})`);
    await sleep(SETTLE_MS);
    const idleRssBytes = treeRssBytes(running.pid);

    const opened = await LoadGenerator.open({
      url: running.url,
      channels: connectionChannels(scenario),
      processes: options.loadProcesses,
      concurrencyPerProcess: 50,
      connectTimeoutMs: 5_000,
      attempts: 3,
      openTimeoutMs: 90_000,
    });
    load = opened.load;
    const { summary } = opened;
    log(`${summary.subscribed}/${scenario.connections} subscribed in ${summary.elapsedMs} ms, ${summary.retried} retried${summary.firstError ? ` (first error: ${summary.firstError})` : ""}`);
    if (summary.subscribed === 0) throw new Error(`${server.name}: no client could subscribe (${summary.firstError ?? "?"})`);

    const pace = (run: string, durationMs: number): Promise<PublishResult> =>
      publishPaced(
        { url: running.url + server.batchPath, headers: server.publishHeaders },
        {
          messagesPerSecond: messagesPerSecond(scenario),
          durationMs,
          channels: channelNames(scenario),
          run,
          payloadBytes: scenario.payloadBytes,
          maxBatch: server.maxBatch,
          maxInFlight: 8,
          tickMs: 20,
          requestTimeoutMs: 10_000,
        },
      );
    await pace("warmup", scenario.warmupMs);
    await sleep(500);
    await load.measure("measured");

    const machineBefore = sampleMachineCpu();
    const serverCpuBefore = sampleCpu(running.pid);
    const loadCpuBefore = sampleCpu(process.pid, ...load.pids);
    const started = performance.now();
    const published = await pace("measured", scenario.measureMs);
    const expected = expectedDeliveries(published, scenario.connections / scenario.channels);
    const drainUntil = performance.now() + DRAIN_MS;
    let received = await load.received();
    while (received < expected && performance.now() < drainUntil) {
      await sleep(100);
      received = await load.received();
    }
    const windowSeconds = (performance.now() - started) / 1000;
    const serverCpuAfter = sampleCpu(running.pid);
    const machineBusy = busyFraction(machineBefore, sampleMachineCpu());
    const serverCpuSeconds = cpuSecondsBetween(serverCpuBefore, serverCpuAfter);
    const primaryCpuSeconds = cpuSecondsBetween(serverCpuBefore, serverCpuAfter, [running.pid]);
    // Our own tree holds the server too: count only the coordinator and its load processes.
    const loadCpuSeconds = cpuSecondsBetween(loadCpuBefore, sampleCpu(process.pid, ...load.pids), [process.pid, ...load.pids]);
    const loadRssBytes = treeRssBytes(running.pid);
    const report = await load.report();

    const notes: string[] = [];
    if (summary.retried > 0) notes.push(`${summary.retried} connection attempts retried (${summary.firstError ?? "?"})`);
    if (summary.subscribed < scenario.connections) notes.push(`${scenario.connections - summary.subscribed} connections failed: ${summary.firstError ?? "?"}`);
    if (published.failed > 0) notes.push(`${published.failed} publishes failed: ${published.firstError ?? "?"}`);
    if (report.outOfOrder > 0) notes.push(`${report.outOfOrder} messages out of offset order`);
    if (report.disconnects > 0) notes.push(`${report.disconnects} clients disconnected during the run`);
    log(`${report.received}/${expected} delivered in ${windowSeconds.toFixed(2)} s, server CPU ${serverCpuSeconds.toFixed(2)} s, load CPU ${loadCpuSeconds.toFixed(2)} s`);

    return {
      server: server.name,
      scenario: scenario.name,
      connections: scenario.connections,
      subscribed: summary.subscribed,
      published: published.accepted,
      publishFailed: published.failed,
      expected,
      received: report.received,
      windowSeconds,
      serverCpuSeconds,
      primaryCpuSeconds,
      loadCpuSeconds,
      machineBusy,
      p50Ms: report.histogram.quantile(0.5),
      p99Ms: report.histogram.quantile(0.99),
      serverTsP50Ms: report.sinceServerTs.quantile(0.5),
      serverTsP99Ms: report.sinceServerTs.quantile(0.99),
      publishResponseP50Ms: published.responseMs.quantile(0.5),
      publishResponseP99Ms: published.responseMs.quantile(0.99),
      idleRssBytes,
      loadRssBytes,
      outOfOrder: report.outOfOrder,
      disconnects: report.disconnects,
      notes,
    };
  } finally {
    await load?.close();
    await running.stop();
  }
}
