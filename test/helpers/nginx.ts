import { execFile, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { chmod, copyFile, readFile, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { retryUntil } from "../../src/redis-client/retry-until.js";
import { findAll, loopbackUpstream, readShippedConf, renderNginxConf, SHIPPED_SNIPPET, shippedLocations } from "./nginx-conf.js";
import { freePort, killAtExit, killGroup, makeTempDir, removeTempDir } from "./scratch.js";

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5000;
// Another test file may take the port between our probe and nginx's bind.
const PORT_ATTEMPTS = 3;


/** The nginx binary: on the PATH, else Debian's /usr/sbin/nginx. A missing nginx fails the test. */
export function nginxBinary(): string {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter).filter(Boolean), "/usr/sbin"];
  for (const dir of dirs) {
    const candidate = path.join(dir, "nginx");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error("nginx is not installed (not on the PATH nor /usr/sbin/nginx): install it (apt-get install nginx); the nginx tests need it");
}

/**
 * A main nginx.conf that keeps nginx inside `dir`: its pid file, logs and temp files (the
 * packaged defaults under /var/lib/nginx need not exist or be writable), with `http` as the body
 * of its http {} block.
 */
export function confinedNginxConf(dir: string, http: string, workerConnections = 1024): string {
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((kind) => `    ${kind}_temp_path ${path.join(dir, kind)};`);
  return [
    "daemon off;",
    "master_process on;",
    "worker_processes 1;",
    `pid ${path.join(dir, "nginx.pid")};`,
    `error_log ${path.join(dir, "error.log")} warn;`,
    "events {",
    `    worker_connections ${workerConnections};`,
    "}",
    "http {",
    // Who asked, which host served each request and what it answered: what a failure needs explaining.
    "    log_format upstreams '$msec $status $request_time $remote_addr \"$request\" upstream=$upstream_addr status=$upstream_status';",
    `    access_log ${path.join(dir, "access.log")} upstreams;`,
    ...temp,
    http,
    "}",
    "",
  ].join("\n");
}

/** The nginx command line for `conf`, with every path it would otherwise take from its build under `dir`. */
function nginxArgs(dir: string, conf: string): string[] {
  // -e: nginx opens its built-in error log before it reads the configuration.
  return ["-p", dir, "-c", conf, "-e", path.join(dir, "error.log")];
}

/** Runs `nginx -t` on `conf`; resolves with its exit code and what it printed. */
export function checkNginxConf(dir: string, conf: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(nginxBinary(), ["-t", ...nginxArgs(dir, conf)], (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

export interface NginxProxy {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  pid: number;
  errorLog(): Promise<string>;
  /** One line a request: time, status, request, and each upstream tried with its answer. */
  accessLog(): Promise<string>;
  /** The upstream ("127.0.0.1:port") that answered a GET of `path` through nginx, with the status. */
  servedBy(path?: string): Promise<{ upstream: string; status: number }>;
  /** Fast shutdown (SIGTERM: open websockets are cut), then SIGKILL of the group; resolves once gone. */
  stop(): Promise<void>;
}

class PortTaken extends Error {}

/** Which host answered, added by the test proxy to every answer. */
export const UPSTREAM_HEADER = "X-Test-Upstream";

/**
 * The http {} body: the shipped maps and upstreams (hosts replaced by loopback ports) and a server
 * with the shipped locations, which include a copy of the shipped snippet.
 */
async function proxyConf(dir: string, listenPort: number, upstreamPorts: number[]): Promise<string> {
  const conf = readShippedConf();
  const snippetCopy = path.join(dir, path.basename(SHIPPED_SNIPPET));
  await copyFile(SHIPPED_SNIPPET, snippetCopy);
  const maps = findAll(conf, "map");
  const upstreams = findAll(conf, "upstream").map((u) => loopbackUpstream(conf, u.args[0]!, upstreamPorts));
  const server = {
    name: "server",
    args: [],
    block: [
      { name: "listen", args: [`127.0.0.1:${listenPort}`] },
      // Test-only: which host answered, so a test can tell where nginx routes.
      { name: "add_header", args: [UPSTREAM_HEADER, "$upstream_addr", "always"] },
      ...shippedLocations(conf, snippetCopy),
    ],
  };
  return renderNginxConf([...maps, ...upstreams, server], "    ");
}

async function launchOn(dir: string, port: number, upstreamPorts: number[], workerConnections?: number): Promise<NginxProxy> {
  const conf = path.join(dir, "nginx.conf");
  const http = await proxyConf(dir, port, upstreamPorts);
  await writeFile(conf, confinedNginxConf(dir, http, workerConnections));
  const errorLogFile = path.join(dir, "error.log");
  const errorLog = (): Promise<string> => readFile(errorLogFile, "utf8").catch(() => "(no error log)");
  const accessLog = (): Promise<string> => readFile(path.join(dir, "access.log"), "utf8").catch(() => "(no access log)");

  const child = spawn(nginxBinary(), nginxArgs(dir, conf), { stdio: ["ignore", "ignore", "pipe"], detached: true });
  const pid = child.pid!;
  // A failing test must not leave an nginx behind: its group is killed, by id, at exit.
  const forget = killAtExit(pid);
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => void (stderr += chunk));
  const died = new AbortController();
  const exited = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      forget();
      resolve();
      void errorLog().then((log) => {
        const text = `${stderr}\n${log}`.trim();
        const message = `nginx on 127.0.0.1:${port} exited (${signal ?? `code ${code}`}): ${text.split("\n").slice(-5).join("\n")}`;
        died.abort(text.includes("Address already in use") ? new PortTaken(message) : new Error(message));
      });
    }),
  );

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, "SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, STOP_TIMEOUT_MS)))]);
      clearTimeout(timer);
      // Workers the master left behind, or the master itself if it did not stop in time.
      killGroup(pid);
      await exited;
    })());

  try {
    // The pid file is written once the listening socket is bound; ours, not a stale one.
    await retryUntil(
      async () => {
        const written = (await readFile(path.join(dir, "nginx.pid"), "utf8").catch(() => "")).trim();
        if (written !== String(pid)) throw new Error(`nginx (pid ${pid}) has not written its pid file within ${START_TIMEOUT_MS} ms`);
        await connectOnce(port);
      },
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 20, signal: died.signal },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const url = `http://127.0.0.1:${port}`;
  const servedBy = async (route = "/healthz"): Promise<{ upstream: string; status: number }> => {
    const res = await fetch(`${url}${route}`);
    await res.arrayBuffer();
    return { upstream: res.headers.get(UPSTREAM_HEADER) ?? "", status: res.status };
  };
  return { url, port, pid, errorLog, accessLog, servedBy, stop };
}

function connectOnce(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve();
    });
    socket.once("error", reject);
  });
}

/** Where the proxy's stop is registered: a test's context, or the fault bench's round. */
export interface AfterHook {
  after(fn: () => Promise<void>): void;
}

/**
 * Starts a real nginx (master + worker, its own process group) on a free loopback port, proxying
 * to the pusher hosts on `upstreamPorts` through the shipped map, upstream parameters and proxy
 * snippet. Stopped (and its folder removed) by `t.after` (a test context fits), or killed when the
 * process exits.
 * `workerConnections`: more than the default 1024 for loads that hold more sockets (a bench).
 */
export async function startNginx(t: AfterHook, upstreamPorts: number[], workerConnections?: number): Promise<NginxProxy> {
  const dir = await makeTempDir();
  // nginx's workers run as "nobody" when the master is root: they must reach their temp folders.
  await chmod(dir, 0o755);
  for (let attempt = 1; ; attempt++) {
    try {
      const proxy = await launchOn(dir, await freePort(), upstreamPorts, workerConnections);
      t.after(async () => {
        await proxy.stop();
        await removeTempDir(dir);
      });
      return proxy;
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt === PORT_ATTEMPTS) {
        await removeTempDir(dir);
        throw err;
      }
    }
  }
}
