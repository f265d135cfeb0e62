/**
 * `npm run bench:publish -- [--workers 2] [--seconds 6] [--concurrency 32] [--targets baseline,embedded,standalone]`
 *
 * The publish path (docs/benchmarks.md, "Publish path"), pusher against the baseline in one sitting:
 * - throughput with nothing subscribed: single-message POSTs over keep-alive at a fixed concurrency
 *   (autocannon), `/v1/batch` of 100, and the Redis ingress draining a backlog;
 * - latency at 500 single publishes/s with 2,000 subscribers on 20 channels, over HTTP and the ingress.
 * Pusher runs embedded and on a standalone Redis this bench starts (on a free port). Prints Markdown.
 */
import { execFile, spawn } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs, promisify } from "node:util";
import { Redis } from "ioredis";
import { cpuAndMemory, logLine as log, runMain } from "./entry.js";
import { ensureFdLimit } from "./fd-limit.js";
import { LatencyHistogram } from "./load/histogram.js";
import { LoadGenerator } from "./load/load-generator.js";
import { wallClockMs, type BenchPayload } from "./load/protocol.js";
import { publishPaced } from "./load/publisher.js";
import { cpuSecondsBetween, sampleCpu } from "./measure/process-tree.js";
import { startServer, type RunningServer } from "./server-process.js";
import { baseline, pusher, type ServerDescriptor } from "./servers.js";
import { ROOT } from "../test/helpers/root.js";

const AUTOCANNON = path.join(ROOT, "node_modules/.bin/autocannon");
const SUBSCRIBERS = 2000;
const CHANNELS = Array.from({ length: 20 }, (_, i) => `bench.publish.${i}`);
const LATENCY_RATE = 500;
const INGRESS_BACKLOG = 100_000;

interface Row {
  server: string;
  mode: string;
  path: string;
  subscribers: number;
  publishesPerSecond: number;
  answerP50?: number;
  answerP99?: number;
  deliveryP50?: number;
  deliveryP99?: number;
  cpuPer1000: number;
  note?: string;
}

interface Target {
  server: ServerDescriptor;
  mode: "embedded" | "standalone" | "-";
  env: Record<string, string>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
    probe.on("error", reject);
  });
}

async function startRedis(): Promise<{ url: string; stop(): void }> {
  const port = await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  process.once("exit", () => child.kill("SIGKILL"));
  const client = new Redis({ port, lazyConnect: true, retryStrategy: () => 50 });
  client.on("error", () => undefined);
  await client.connect();
  await client.ping();
  client.disconnect();
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill("SIGKILL") };
}

const body = (channel: string): string => JSON.stringify({ channel, event: "bench", data: { pad: "x".repeat(100) } });

/** Single publishes over keep-alive at a fixed concurrency, or batches of 100: autocannon in its own process. */
async function hammer(server: ServerDescriptor, running: RunningServer, batch: boolean, options: Options): Promise<Omit<Row, "server" | "mode" | "subscribers">> {
  const payload = batch ? JSON.stringify({ messages: Array.from({ length: 100 }, (_, i) => JSON.parse(body(CHANNELS[i % CHANNELS.length]!)) as unknown) }) : body(CHANNELS[0]!);
  const headers = Object.entries({ "content-type": "application/json", ...server.publishHeaders }).flatMap(([k, v]) => ["-H", `${k}=${v}`]);
  const url = running.url + (batch ? server.batchPath : server.publishPath);
  const args = ["-j", "-c", String(batch ? 8 : options.concurrency), "-d", String(options.seconds), "-m", "POST", ...headers, "-b", payload, url];
  // A warm-up, so the measured window sees optimised code on both sides.
  await promisify(execFile)(AUTOCANNON, ["-c", "8", "-d", "1", "-m", "POST", ...headers, "-b", payload, url], { maxBuffer: 1 << 24 });
  const before = sampleCpu(running.pid);
  const { stdout } = await promisify(execFile)(AUTOCANNON, args, { maxBuffer: 1 << 24 });
  const cpu = cpuSecondsBetween(before, sampleCpu(running.pid));
  const result = JSON.parse(stdout) as { requests: { total: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number; duration: number };
  const messages = (result.requests.total - result.non2xx) * (batch ? 100 : 1);
  return {
    path: batch ? "HTTP `/v1/batch` (100 per request, 8 connections)" : `HTTP single, ${options.concurrency} keep-alive connections`,
    publishesPerSecond: messages / result.duration,
    answerP50: result.latency.p50,
    answerP99: result.latency.p99,
    cpuPer1000: (cpu / messages) * 1000,
    ...(result.non2xx + result.errors > 0 ? { note: `${result.non2xx} non-2xx, ${result.errors} errors` } : {}),
  };
}

/** A backlog appended before the clock starts, drained by the ingress: messages/s until all are acknowledged. */
async function drainIngress(running: RunningServer, redisUrl: string): Promise<Omit<Row, "server" | "mode" | "subscribers">> {
  const redis = new Redis(redisUrl);
  try {
    const before = sampleCpu(running.pid);
    const started = performance.now();
    for (let n = 0; n < INGRESS_BACKLOG; n += 1000) {
      const pipeline = redis.pipeline();
      for (let i = 0; i < 1000; i++) pipeline.xadd("pusher:ingress", "*", "message", body(CHANNELS[(n + i) % CHANNELS.length]!));
      await pipeline.exec();
    }
    for (;;) {
      const groups = (await redis.call("XINFO", "GROUPS", "pusher:ingress")) as unknown[][];
      const info = Object.fromEntries(Array.from({ length: groups[0]!.length / 2 }, (_, i) => [groups[0]![2 * i], groups[0]![2 * i + 1]])) as { pending: number; lag: number };
      if (info.pending === 0 && info.lag === 0) break;
      await sleep(20);
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuSecondsBetween(before, sampleCpu(running.pid));
    return { path: `Redis ingress (backlog of ${INGRESS_BACKLOG / 1000}k)`, publishesPerSecond: INGRESS_BACKLOG / seconds, cpuPer1000: (cpu / INGRESS_BACKLOG) * 1000, note: "appending included in the time" };
  } finally {
    redis.disconnect();
  }
}

/** 500 single publishes/s for the window to 2,000 subscribers on 20 channels: publish → delivery. */
async function underLoad(server: ServerDescriptor, running: RunningServer, via: "http" | "ingress", redisUrl: string | undefined, options: Options): Promise<Omit<Row, "server" | "mode" | "subscribers">> {
  const { load, summary } = await LoadGenerator.open({
    url: running.url,
    channels: Array.from({ length: SUBSCRIBERS }, (_, i) => CHANNELS[i % CHANNELS.length]!),
    processes: 1,
    concurrencyPerProcess: 50,
    connectTimeoutMs: 5_000,
    attempts: 3,
    openTimeoutMs: 90_000,
  });
  try {
    if (summary.subscribed < SUBSCRIBERS) log(`${server.name}: only ${summary.subscribed} subscribed (${summary.firstError ?? "?"})`);
    const pace = async (run: string, durationMs: number): Promise<{ accepted: number; answers: LatencyHistogram }> => {
      if (via === "http") {
        const result = await publishPaced(
          { url: running.url + server.publishPath, headers: server.publishHeaders, single: true },
          { messagesPerSecond: LATENCY_RATE, durationMs, channels: CHANNELS, run, payloadBytes: 100, maxBatch: 1, maxInFlight: 64, tickMs: 5, requestTimeoutMs: 10_000 },
        );
        return { accepted: result.accepted, answers: result.responseMs };
      }
      return appendPaced(redisUrl!, run, durationMs);
    };
    await pace("warmup", 2_000);
    await load.measure("measured");
    const before = sampleCpu(running.pid);
    const published = await pace("measured", options.seconds * 1000);
    const expected = published.accepted * (SUBSCRIBERS / CHANNELS.length);
    const until = performance.now() + 5_000;
    while ((await load.received()) < expected && performance.now() < until) await sleep(100);
    const cpu = cpuSecondsBetween(before, sampleCpu(running.pid));
    const report = await load.report();
    return {
      path: via === "http" ? "HTTP single, 500/s" : "Redis ingress, 500/s",
      publishesPerSecond: published.accepted / options.seconds,
      ...(via === "http" ? { answerP50: published.answers.quantile(0.5), answerP99: published.answers.quantile(0.99) } : {}),
      deliveryP50: report.histogram.quantile(0.5),
      deliveryP99: report.histogram.quantile(0.99),
      cpuPer1000: (cpu / published.accepted) * 1000,
      ...(report.received < expected || report.outOfOrder > 0 ? { note: `${report.received}/${expected} delivered, ${report.outOfOrder} out of order` } : {}),
    };
  } finally {
    await load.close();
  }
}

/** XADDs at a steady rate, one entry per message, as a backend that speaks only Redis would. */
async function appendPaced(redisUrl: string, run: string, durationMs: number): Promise<{ accepted: number; answers: LatencyHistogram }> {
  const redis = new Redis(redisUrl);
  const total = Math.round((LATENCY_RATE * durationMs) / 1000);
  const started = performance.now();
  let sent = 0;
  try {
    while (sent < total) {
      const due = Math.min(total, Math.floor((LATENCY_RATE * (performance.now() - started)) / 1000));
      for (; sent < due; sent++) {
        const data: BenchPayload = { run, sentAt: wallClockMs(), pad: "x".repeat(100) };
        void redis.xadd("pusher:ingress", "*", "message", JSON.stringify({ channel: CHANNELS[sent % CHANNELS.length], event: "bench", data }));
      }
      await sleep(2);
    }
    await redis.ping();
    return { accepted: total, answers: new LatencyHistogram() };
  } finally {
    redis.disconnect();
  }
}

interface Options {
  workers: number;
  seconds: number;
  concurrency: number;
}

async function measureTarget(target: Target, options: Options, rows: Row[]): Promise<void> {
  const redis = target.mode === "standalone" ? await startRedis() : undefined;
  const env = { ...target.env, ...(redis ? { PUSHER_REDIS_MODE: "standalone", PUSHER_REDIS_URL: redis.url } : {}) };
  try {
    const cases: Array<(running: RunningServer) => Promise<Omit<Row, "server" | "mode">>> = [
      async (running) => ({ subscribers: 0, ...(await hammer(target.server, running, false, options)) }),
      async (running) => ({ subscribers: 0, ...(await hammer(target.server, running, true, options)) }),
      ...(redis ? [async (running: RunningServer) => ({ subscribers: 0, ...(await drainIngress(running, redis.url)) })] : []),
      async (running) => ({ subscribers: SUBSCRIBERS, ...(await underLoad(target.server, running, "http", undefined, options)) }),
      ...(redis ? [async (running: RunningServer) => ({ subscribers: SUBSCRIBERS, ...(await underLoad(target.server, running, "ingress", redis.url, options)) })] : []),
    ];
    for (const run of cases) {
      // A fresh server per case: one case's backlog or connections never weigh on the next.
      const running = await startServer(target.server, options.workers, { env });
      try {
        const row = { server: target.server.name, mode: target.mode, ...(await run(running)) };
        log(JSON.stringify(row));
        rows.push(row);
      } finally {
        await running.stop();
      }
    }
  } finally {
    redis?.stop();
  }
}

const ms = (v: number | undefined): string => (v === undefined ? "–" : v < 10 ? v.toFixed(1) : v.toFixed(0));

function table(rows: Row[]): string {
  const lines = [
    "| server | broker | path | subscribers | publishes/s | answer p50 / p99 ms | publish→delivery p50 / p99 ms | server CPU-s per 1,000 | note |",
    "|---|---|---|---:|---:|---:|---:|---:|---|",
  ];
  for (const r of rows) {
    lines.push(`| ${r.server} | ${r.mode} | ${r.path} | ${r.subscribers} | ${Math.round(r.publishesPerSecond).toLocaleString("en-US")} | ${ms(r.answerP50)} / ${ms(r.answerP99)} | ${ms(r.deliveryP50)} / ${ms(r.deliveryP99)} | ${r.cpuPer1000.toFixed(3)} | ${r.note ?? ""} |`);
  }
  return lines.join("\n");
}

runMain(async () => {
  const { values } = parseArgs({ options: { workers: { type: "string", default: "2" }, seconds: { type: "string", default: "6" }, concurrency: { type: "string", default: "32" }, targets: { type: "string", default: "baseline,embedded,standalone" } } });
  const exitCode = ensureFdLimit(SUBSCRIBERS + 1024, log);
  if (exitCode !== undefined) return exitCode;
  const options: Options = { workers: Number(values.workers), seconds: Number(values.seconds), concurrency: Number(values.concurrency) };
  const targets: Target[] = [
    { server: baseline, mode: "-", env: {} },
    { server: pusher, mode: "embedded", env: {} },
    { server: pusher, mode: "standalone", env: {} },
  ];
  const wanted = new Set(values.targets.split(","));
  const rows: Row[] = [];
  for (const target of targets) if (wanted.has(target.mode === "-" ? "baseline" : target.mode)) await measureTarget(target, options, rows);
  process.stdout.write(`${cpuAndMemory()}, ${options.workers} workers\n\n${table(rows)}\n`);
  return 0;
});
