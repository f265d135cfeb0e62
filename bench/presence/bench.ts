/**
 * `node dist/bench/presence/bench.js [--members 1000] [--seconds 10] [--churners 16] [--samples 100]`
 *
 * Presence on one channel that holds `members` members (sockets in a child process, counting the
 * member events they are sent), against three servers in turn, one process each where it can:
 * the plain Socket.IO presence baseline (baseline-presence.ts), pusher embedded (1 worker) and
 * pusher on a standalone Redis (1 worker). Measures
 * - the subscribe ack of a new member: its latency and size, with the whole member list in it;
 * - churn: `churners` sockets joining and leaving as new users, as fast as acks come back, for
 *   `seconds` after a 2 s warm-up: joins + leaves per second, member events delivered per second,
 *   and the CPU the server tree (and Redis) used per second.
 * Needs redis-server on PATH. Prints a Markdown table.
 */
import { spawn, fork } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { SignJWT } from "jose";
import { io, type Socket } from "socket.io-client";
import { DEV_JWT_SECRET } from "../../src/config/schema.js";
import { cpuAndMemory, logLine as log, runMain } from "../entry.js";
import { fixed, table, thousands } from "../markdown.js";
import { cpuSecondsBetween, sampleCpu } from "../measure/process-tree.js";
import { startServer, type RunningServer } from "../server-process.js";
import { pusher, type ServerDescriptor } from "../servers.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHANNEL = "presence-bench";
const key = new TextEncoder().encode(DEV_JWT_SECRET);
const WARMUP_MS = 2000;

const baselinePresence: ServerDescriptor = { ...pusher, name: "baseline (plain socket.io, in-process Map)", script: path.join(HERE, "baseline-presence.js"), env: () => ({}), readyMsg: "baseline presence ready" };

const token = (id: string): Promise<string> => new SignJWT({ channel: CHANNEL, user: { id, info: { name: id } } }).setProtectedHeader({ alg: "HS256" }).sign(key);

async function connect(url: string): Promise<Socket> {
  const socket = io(url, { transports: ["websocket"], forceNew: true });
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  return socket;
}

interface Ack {
  ok: boolean;
  members?: unknown[];
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startRedis(): Promise<{ url: string; pid: number; stop(): void }> {
  const port = await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore", detached: true });
  process.once("exit", () => child.kill("SIGKILL"));
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => net.connect(port, "127.0.0.1").once("connect", function (this: net.Socket) { this.destroy(); resolve(true); }).once("error", () => resolve(false)));
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid!, stop: () => child.kill("SIGKILL") };
}

interface Row {
  server: string;
  ackP50Ms: number;
  ackP99Ms: number;
  ackBytes: number;
  churnPerSecond: number;
  eventsPerSecond: number;
  cpuPerSecond: number;
}

function percentile(values: number[], p: number): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function measure(name: string, server: RunningServer, cpuPids: number[], options: { members: number; seconds: number; churners: number; samples: number }): Promise<Row> {
  const holders = fork(path.join(HERE, "holders.js"), [server.url, CHANNEL, String(options.members)], { stdio: "inherit" });
  const fromHolders = <T>(): Promise<T> => new Promise((resolve) => holders.once("message", (m) => resolve(m as T)));
  await fromHolders<{ ready: true }>();
  log(`${name}: ${options.members} members held`);

  // The ack of a new member, with the list of all the others in it.
  const probe = await connect(server.url);
  const probeTokens = await Promise.all(Array.from({ length: options.samples }, (_, i) => token(`probe-${i}`)));
  const latencies: number[] = [];
  let ackBytes = 0;
  for (const t of probeTokens) {
    const started = performance.now();
    const ack = (await probe.timeout(10_000).emitWithAck("subscribe", { channel: CHANNEL, token: t })) as Ack;
    latencies.push(performance.now() - started);
    if (!ack.ok || (ack.members?.length ?? 0) < options.members) throw new Error(`${name}: bad ack ${JSON.stringify(ack).slice(0, 200)}`);
    ackBytes = Buffer.byteLength(JSON.stringify(ack));
    await probe.timeout(10_000).emitWithAck("unsubscribe", { channel: CHANNEL });
  }
  probe.disconnect();

  // Churn: each churner joins and leaves as its own user, back to back.
  const churners = await Promise.all(Array.from({ length: options.churners }, () => connect(server.url)));
  const tokens = await Promise.all(churners.map((_, i) => token(`churn-${i}`)));
  let ops = 0;
  let running = true;
  const loops = churners.map(async (socket, i) => {
    while (running) {
      const ack = (await socket.timeout(10_000).emitWithAck("subscribe", { channel: CHANNEL, token: tokens[i] })) as Ack;
      if (!ack.ok) throw new Error(`${name}: churn join refused ${JSON.stringify(ack).slice(0, 200)}`);
      await socket.timeout(10_000).emitWithAck("unsubscribe", { channel: CHANNEL });
      ops += 2;
    }
  });
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  holders.send({ report: true });
  const eventsBefore = (await fromHolders<{ events: number }>()).events;
  const opsBefore = ops;
  const cpuBefore = sampleCpu(...cpuPids);
  const started = performance.now();
  await new Promise((r) => setTimeout(r, options.seconds * 1000));
  const seconds = (performance.now() - started) / 1000;
  const opsDone = ops - opsBefore;
  const cpu = cpuSecondsBetween(cpuBefore, sampleCpu(...cpuPids));
  running = false;
  await Promise.all(loops);
  // Events still in flight when the window closed arrive now: wait for the holders to go quiet.
  let events = -1;
  for (let last = -2; events !== last; await new Promise((r) => setTimeout(r, 500))) {
    last = events;
    holders.send({ report: true });
    events = (await fromHolders<{ events: number }>()).events - eventsBefore;
  }
  for (const socket of churners) socket.disconnect();
  holders.disconnect();
  return {
    server: name,
    ackP50Ms: percentile(latencies, 50),
    ackP99Ms: percentile(latencies, 99),
    ackBytes,
    churnPerSecond: opsDone / seconds,
    eventsPerSecond: events / seconds,
    cpuPerSecond: cpu / seconds,
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { members: { type: "string", default: "1000" }, seconds: { type: "string", default: "10" }, churners: { type: "string", default: "16" }, samples: { type: "string", default: "100" } } });
  const options = { members: Number(values.members), seconds: Number(values.seconds), churners: Number(values.churners), samples: Number(values.samples) };
  const limits = { PUSHER_MAX_PRESENCE_MEMBERS: "0", PUSHER_SUBSCRIBE_RATE_PER_SECOND: "0" };
  const rows: Row[] = [];
  {
    const server = await startServer(baselinePresence, 1);
    rows.push(await measure(baselinePresence.name, server, [server.pid], options));
    await server.stop();
  }
  {
    const server = await startServer(pusher, 1, { env: limits });
    rows.push(await measure("pusher embedded (primary + 1 worker)", server, [server.pid], options));
    await server.stop();
  }
  {
    const redis = await startRedis();
    const server = await startServer(pusher, 1, { env: { ...limits, PUSHER_REDIS_MODE: "standalone", PUSHER_REDIS_URL: redis.url } });
    rows.push(await measure("pusher on Redis (1 worker; CPU includes redis-server)", server, [server.pid, redis.pid], options));
    await server.stop();
    redis.stop();
  }
  process.stdout.write(`${cpuAndMemory()}; ${options.members} members, ${options.churners} churners, ${options.seconds} s\n\n`);
  process.stdout.write(
    table(
      ["server", "join ack p50 / p99 (ms)", "ack bytes", "joins + leaves /s", "member events delivered /s", "server CPU s/s"],
      rows.map((r) => [r.server, `${fixed(r.ackP50Ms, 2)} / ${fixed(r.ackP99Ms, 2)}`, thousands(r.ackBytes), thousands(r.churnPerSecond), thousands(r.eventsPerSecond), fixed(r.cpuPerSecond, 2)]),
    ) + "\n",
  );
  return 0;
}

runMain(main);
