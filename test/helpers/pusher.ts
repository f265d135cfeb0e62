import { spawn } from "node:child_process";
import path from "node:path";
import type { TestContext } from "node:test";
import { ROOT } from "./root.js";
import { killAtExit, killGroup } from "./scratch.js";

export { DEV_API_KEY } from "../../src/config/schema.js";

/** The compiled entry point: tests run against the same build `npm start` runs. */
export const MAIN = path.join(ROOT, "dist/src/main.js");

export interface LogLine {
  msg?: string;
  [key: string]: unknown;
}

export interface PusherHost {
  url: string;
  port: number;
  pid: number;
  /** Current worker pids by worker index, as the primary announced them. */
  workers: Map<number, number>;
  /** Every JSON log line seen so far (primary and workers share stdout). */
  lines: LogLine[];
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Sends a signal to the primary and waits for the whole tree to exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGKILLs the primary and every worker at once, as a host that loses power; resolves once the primary is gone. */
  crash(): Promise<void>;
  /** Resolves with the primary's exit code when it exits. */
  exited: Promise<number | null>;
  /** Everything the tree wrote to stderr so far: where an uncaught exception's stack goes. */
  stderr(): string;
}

export interface StartOptions {
  workers?: number;
  env?: Record<string, string>;
  port?: number;
  timeoutMs?: number;
  /** Resolve at once instead of waiting for "pusher ready" (for hosts expected never to be ready). */
  waitReady?: boolean;
  /** The entry point to run, e.g. an installed package's; default: this checkout's build. */
  main?: string;
}

/** Starts a pusher host (primary + workers) as its own process group; stopped by `t.after`. */
export async function startPusher(t: TestContext | undefined, options: StartOptions = {}): Promise<PusherHost> {
  const env = {
    ...process.env,
    NODE_ENV: "test",
    PUSHER_PORT: String(options.port ?? 0),
    PUSHER_HOST: "127.0.0.1",
    PUSHER_WORKERS: String(options.workers ?? 2),
    PUSHER_LOG_FORMAT: "json",
    PUSHER_LOG_LEVEL: "info",
    ...options.env,
  };
  const child = spawn(process.execPath, [options.main ?? MAIN], { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  // A failed test must not leave a process tree behind: its group is killed, by PID, at exit.
  const forget = killAtExit(child.pid!);
  const lines: LogLine[] = [];
  const waiters = new Set<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  const workers = new Map<number, number>();
  let stderr = "";
  let buffered = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const raw = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
      } catch {
        continue;
      }
      lines.push(line);
      if (line.msg === "worker ready" && typeof line.index === "number" && typeof line.workerPid === "number") workers.set(line.index, line.workerPid);
      for (const w of waiters) if (w.match(line)) { waiters.delete(w); w.resolve(line); }
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => { stderr += chunk; });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => { forget(); resolve(code); }));

  const waitForLog = (match: (line: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> => {
    const seen = lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve: (l: LogLine) => { clearTimeout(timer); resolve(l); } };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`timed out waiting for a log line; stderr: ${stderr.slice(-2000)}; last lines: ${JSON.stringify(lines.slice(-5))}`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  };

  const stop = async (signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    try { process.kill(child.pid!, signal); } catch { /* gone */ }
    const timer = setTimeout(() => killGroup(child.pid!), 15_000);
    const code = await exited;
    clearTimeout(timer);
    killGroup(child.pid!); // workers orphaned by a SIGKILLed primary
    return code;
  };
  const crash = async (): Promise<void> => {
    killGroup(child.pid!);
    await exited;
  };
  t?.after(() => stop());
  const stderrSoFar = (): string => stderr;
  if (options.waitReady === false) return { url: "", port: 0, pid: child.pid!, workers, lines, waitForLog, stop, crash, exited, stderr: stderrSoFar };

  const ready = await Promise.race([
    waitForLog((l) => l.msg === "pusher ready", options.timeoutMs ?? 15_000),
    exited.then((code) => { throw new Error(`pusher exited with ${code} before it was ready: ${stderr.slice(-2000)}`); }),
  ]);
  const port = ready.port as number;
  return { url: `http://127.0.0.1:${port}`, port, pid: child.pid!, workers, lines, waitForLog, stop, crash, exited, stderr: stderrSoFar };
}

/**
 * Runs `check`; if it fails, the error also carries every warning and error the hosts logged: a
 * rare failure is then explained by its own run (a fill that failed, a reader that moved).
 */
export async function explainedByHostLogs<T>(hosts: PusherHost[], check: () => Promise<T> | T): Promise<T> {
  try {
    return await check();
  } catch (err) {
    const warnings = hosts.flatMap((host, i) => host.lines.filter((l) => Number(l.level) >= 40).map((l) => `host ${i}: ${JSON.stringify(l)}`));
    (err as Error).message += `\nhost warnings:\n${warnings.join("\n")}`;
    throw err;
  }
}

/** A host-wide figure (summed over its workers, or the primary's own) from the host's /metrics. */
export async function hostMetric(host: PusherHost, name: string): Promise<number> {
  const text = await (await fetch(`${host.url}/metrics`)).text();
  const value = new RegExp(`^${name} (\\d+)$`, "m").exec(text)?.[1];
  if (value === undefined) throw new Error(`${host.url}/metrics has no ${name}`);
  return Number(value);
}

/** The Socket.IO connections a host holds now. */
export function connectionCount(host: PusherHost): Promise<number> {
  return hostMetric(host, "pusher_connections");
}
