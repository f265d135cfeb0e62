import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { access, readFile } from "node:fs/promises";
import path from "node:path";
import test from "node:test";
import { promisify } from "node:util";
import { retryUntil } from "../../src/redis-client/retry-until.js";
import { cleanEnv, ROOT } from "../helpers/cli.js";
import { connectSocket } from "../helpers/clients.js";
import { freePort, killGroup, tempDir } from "../helpers/scratch.js";
import { withTimeout } from "../helpers/with-timeout.js";

const PM2_BIN = path.join(ROOT, "node_modules/.bin");

interface Pm2App {
  pid: number;
  pm2_env: { status: string; axm_monitor: Record<string, { value: unknown; unit?: string }> };
}

test("pm2-runtime runs the ecosystem file: online once every worker serves, per-worker metrics in pm2, SIGTERM drains before kill_timeout", async (t) => {
  const dir = await tempDir(t);
  const port = await freePort();
  const env = cleanEnv({
    PM2_HOME: path.join(dir, "pm2"),
    PUSHER_LOG_DIR: dir,
    PUSHER_PORT: String(port),
    PUSHER_HOST: "127.0.0.1",
    PUSHER_WORKERS: "2",
    // The ecosystem file runs NODE_ENV=production, which reads config/production.json (a Sentinel
    // example) and refuses development secrets.
    PUSHER_REDIS_MODE: "none",
    PUSHER_API_KEYS: "pm2-test-api-key",
    PUSHER_JWT_SECRET: "pm2-test-jwt-secret-0123456789abcdef",
  });
  const pm2 = async (...args: string[]): Promise<string> => (await promisify(execFile)(path.join(PM2_BIN, "pm2"), args, { env })).stdout;
  const jlist = async (): Promise<Pm2App> => {
    const apps = JSON.parse(await pm2("jlist")) as Pm2App[];
    assert.equal(apps.length, 1, "one app");
    return apps[0]!;
  };

  // As systemd runs it (systemd/pusher.service ExecStart).
  const runtime = spawn(path.join(PM2_BIN, "pm2-runtime"), ["start", path.join(ROOT, "ecosystem.config.js")], { env, detached: true, stdio: "ignore" });
  const runtimeExit = new Promise<number | null>((resolve) => runtime.once("exit", (code) => resolve(code)));
  let primaryPid: number | undefined;
  t.after(async () => {
    // pm2 starts the app in a process group of its own: stop both trees by PID, whatever happened,
    // and a daemon the CLI may have launched after all.
    if (runtime.exitCode === null) killGroup(runtime.pid!);
    if (primaryPid) killGroup(primaryPid);
    const daemon = Number(await readFile(path.join(env.PM2_HOME!, "pm2.pid"), "utf8").catch(() => ""));
    if (daemon > 0 && daemon !== runtime.pid) killGroup(daemon);
  });

  // The pm2 CLI launches a daemon of its own when it finds none: ask it nothing before
  // pm2-runtime's in-process daemon listens.
  await retryUntil(() => access(path.join(env.PM2_HOME!, "rpc.sock")), { timeoutMs: 15_000 });
  // wait_ready: pm2 says "online" only after the primary's ready signal, when every worker listens.
  const online = await retryUntil(
    async () => {
      const app = await jlist();
      if (app.pm2_env.status !== "online") throw new Error(`pm2 status is ${app.pm2_env.status}`);
      return app;
    },
    { timeoutMs: 30_000, intervalMs: 20 },
  );
  primaryPid = online.pid;
  assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200, "serving as soon as pm2 calls it online");

  const url = `http://127.0.0.1:${port}`;
  await Promise.all(Array.from({ length: 3 }, () => connectSocket(t, url, { transports: ["websocket"] })));
  const monitor = await retryUntil(
    async () => {
      const metrics = (await jlist()).pm2_env.axm_monitor;
      const value = (name: string): unknown => metrics[name]?.value;
      // Each worker reports every 2 s: wait until both have, after the 3 clients connected.
      const reported = [0, 1].every((index) => typeof value(`worker ${index} connections`) === "number");
      if (!reported || value("connections") !== 3) throw new Error(`pm2 shows ${JSON.stringify(metrics)}, not 3 connections from 2 workers`);
      return metrics;
    },
    { timeoutMs: 15_000, intervalMs: 250 },
  );
  for (const index of [0, 1]) {
    const connections = monitor[`worker ${index} connections`]?.value;
    const memory = monitor[`worker ${index} memory`];
    const lag = monitor[`worker ${index} loop lag`];
    assert.equal(typeof connections, "number", `worker ${index} connections`);
    assert.ok(typeof memory?.value === "number" && memory.value > 10 && memory.unit === "MiB", `worker ${index} memory: ${JSON.stringify(memory)}`);
    assert.ok(typeof lag?.value === "number" && lag.value >= 0 && lag.unit === "ms", `worker ${index} loop lag: ${JSON.stringify(lag)}`);
  }
  assert.equal(Number(monitor["worker 0 connections"]!.value) + Number(monitor["worker 1 connections"]!.value), 3);
  assert.match(await pm2("show", "pusher"), /worker 1 loop lag/, "pm2 show lists the per-worker metrics");

  // systemctl stop: SIGTERM to pm2-runtime, which stops the app with kill_signal and waits up to kill_timeout.
  const stopped = Date.now();
  process.kill(runtime.pid!, "SIGTERM");
  await withTimeout(runtimeExit, 20_000, "pm2-runtime to exit");
  assert.ok(Date.now() - stopped < 15_000, "the drain ended before kill_timeout");
  const log = (await readFile(path.join(dir, "out.log"), "utf8")).split("\n").filter(Boolean).map((l) => JSON.parse(l) as { msg?: string; role?: string });
  assert.ok(log.some((l) => l.msg === "draining"), "the workers drained");
  assert.ok(log.some((l) => l.role === "primary" && l.msg === "stopped"), "the primary stopped on its own, not killed by pm2");
  assert.throws(() => process.kill(online.pid, 0), "the primary is gone");
});
