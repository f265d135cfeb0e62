/**
 * Starts a server under test as its own process group, waits for its ready line, and stops the
 * whole tree by PID (SIGTERM, then SIGKILL after a grace period).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import type { ServerDescriptor } from "./servers.js";

export interface RunningServer {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

const started = new Set<number>();
process.once("exit", () => {
  // A crashed bench must not leave a server tree behind.
  for (const pid of started) killGroup(pid, "SIGKILL");
});

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export interface StartOptions {
  /** Node options before the script (e.g. `--cpu-prof`); cluster workers inherit them. */
  nodeArgs?: string[];
  /** Env on top of the server's own (e.g. its Redis settings). */
  env?: Record<string, string>;
  timeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL (a profiled tree writes its profiles on exit). */
  stopGraceMs?: number;
  /** A file to copy the server's stdout and stderr (its logs) into, to read after the run. */
  logFile?: string;
}

export async function startServer(server: ServerDescriptor, workers: number, options: StartOptions = {}): Promise<RunningServer> {
  const { nodeArgs = [], env = {}, timeoutMs = 30_000 } = options;
  const child = spawn(process.execPath, [...nodeArgs, server.script], {
    env: { ...process.env, ...server.env(workers), ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${server.name}: could not spawn ${server.script}`);
  started.add(pid);
  if (options.logFile !== undefined) {
    const file = createWriteStream(options.logFile);
    for (const stream of [child.stdout!, child.stderr!]) stream.on("data", (chunk: Buffer | string) => file.write(chunk));
    // "close" comes after both streams have ended, so the file gets the last lines too.
    child.once("close", () => file.end());
  }
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4_000);
  });

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${server.name}: no "${server.readyMsg}" within ${timeoutMs} ms\n${stderr}`)), timeoutMs);
    let buffered = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const parsed = JSON.parse(line) as { msg?: unknown; port?: unknown };
          if (parsed.msg === server.readyMsg && typeof parsed.port === "number") {
            clearTimeout(timer);
            resolve(parsed.port);
          }
        } catch {
          // not a JSON line
        }
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${server.name} exited (${code ?? signal}) before ready\n${stderr}`));
    });
  });

  return {
    pid,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      killGroup(pid, "SIGTERM");
      if (!(await waitForExit(child, options.stopGraceMs ?? 8_000))) killGroup(pid, "SIGKILL");
      await waitForExit(child, 2_000);
      // Workers may outlive the primary for a moment; the group kill reaches them too.
      killGroup(pid, "SIGKILL");
      started.delete(pid);
    },
  };
}
