import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { retryUntil } from "../../src/redis-client/retry-until.js";
import { withAdmin } from "../../src/redis-client/sentinel-commands.js";
import { freePort, killAtExit } from "./scratch.js";

/** One redis-server (or sentinel) process this test started. */
export interface RedisNode {
  host: string;
  port: number;
  pid: number;
  /** "host:port" */
  address: string;
  /** e.g. SIGSTOP / SIGCONT */
  signal(sig: NodeJS.Signals): void;
  /** SIGKILL by pid; resolves when the process has exited. */
  kill(): Promise<void>;
  exited: Promise<void>;
}

export type NodeKind = "redis" | "sentinel";

const HOST = "127.0.0.1";
const START_TIMEOUT_MS = 5000;
// Another test file may take the port between our probe and redis-server's bind.
const PORT_ATTEMPTS = 3;

class PortTaken extends Error {}

async function logTail(file: string): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => "(no log)");
  return text.trimEnd().split("\n").slice(-5).join("\n");
}

/** Starts one process on `port` and resolves once that very process (by pid) answers INFO. */
async function launchOn(dir: string, kind: NodeKind, port: number, extraConf: string[]): Promise<RedisNode> {
  const address = `${HOST}:${port}`;
  const conf = path.join(dir, `${kind}-${port}.conf`);
  const log = path.join(dir, `${kind}-${port}.log`);
  const lines = [`port ${port}`, `bind ${HOST}`, `dir ${dir}`, `logfile ${log}`, "daemonize no", ...extraConf];
  await writeFile(conf, `${lines.join("\n")}\n`);

  const child = spawn("redis-server", kind === "sentinel" ? [conf, "--sentinel"] : [conf], { stdio: "ignore", detached: true });
  const pid = child.pid;
  if (pid === undefined) {
    const [err] = (await once(child, "error")) as [Error];
    throw new Error(`cannot run redis-server (${err.message}); install it (apt-get install redis-server)`);
  }
  const forget = killAtExit(pid);
  // The exit hook, not this process's event loop, is what ends a forgotten node.
  child.unref();
  let answered = false;
  const died = new AbortController();
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      forget();
      resolve();
      if (answered) return;
      void logTail(log).then((tail) => {
        const message = `${kind} on ${address} exited (${signal ?? `code ${code}`}) before it answered; log:\n${tail}`;
        died.abort(tail.includes("Address already in use") ? new PortTaken(message) : new Error(message));
      });
    });
  });

  const node: RedisNode = {
    host: HOST,
    port,
    pid,
    address,
    signal: (sig) => process.kill(pid, sig),
    async kill() {
      // Held again so the event loop stays up for the exit we are about to await.
      child.ref();
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, "SIGKILL");
      await exited;
    },
    exited,
  };
  try {
    await retryUntil(
      async () => {
        const info = await withAdmin(address, "", (client) => client.info("server"));
        if (!info.includes(`process_id:${pid}\r\n`)) throw new Error(`another process answers on ${address}`);
      },
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 20, signal: died.signal },
    );
  } catch (err) {
    await node.kill();
    throw err;
  }
  answered = true;
  return node;
}

/**
 * Starts a killed node again on its own port, as its supervisor would: same kind, same conf. A data
 * node comes back without data or `replicaof`; Sentinel makes a former master a replica.
 */
export function relaunchNode(dir: string, kind: NodeKind, node: RedisNode, extraConf: string[] = []): Promise<RedisNode> {
  return launchOn(dir, kind, node.port, extraConf);
}

/** Starts a redis-server (or a sentinel) on a free loopback port, writing its conf into `dir`. */
export async function launchNode(dir: string, kind: NodeKind, extraConf: string[] = []): Promise<RedisNode> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchOn(dir, kind, await freePort(), extraConf);
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt === PORT_ATTEMPTS) throw err;
    }
  }
}

/** A data node without persistence: nothing to save, nothing to load. */
export function dataNodeConf(): string[] {
  // Diskless sync without its default 5 s delay, so replicas link up at once.
  return ['save ""', "appendonly no", "repl-diskless-sync yes", "repl-diskless-sync-delay 0"];
}
