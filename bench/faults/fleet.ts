/**
 * What a fault round runs on: a Sentinel topology, hosts of several workers on it, and the shipped
 * nginx in front of them. Hosts keep their port across restarts, as a supervisor restarts them, so
 * nginx's upstream stays right. Any primary that exits without the bench asking is recorded as a
 * primary death; everything started is stopped, by PID, by `close()`, also after a failure.
 */
import { copyFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { startNginx, type NginxProxy } from "../../test/helpers/nginx.js";
import { startPusher, type PusherHost } from "../../test/helpers/pusher.js";
import { startSentinelTopology, type SentinelTopology } from "../../test/helpers/redis-topology.js";
import type { Durability, FaultPlan } from "./plan.js";

type Cleanup = () => Promise<void>;

/** nginx holds two sockets per client and per publish in flight: room for a failover's backlog. */
const NGINX_WORKER_CONNECTIONS = 16_384;
/** A loaded machine starts a host (primary, workers, Redis connections) in a few seconds. */
const READY_TIMEOUT_MS = 20_000;

export interface PrimaryDeath {
  host: number;
  pid: number;
  code: number | null;
  /** "unasked" (it died on its own), or "while draining" (SIGTERM, but it exited non-zero: a failed drain). */
  when: string;
  /** The end of its stderr (an uncaught exception's stack), else its last log line. */
  lastWords: string;
}

export class Fleet {
  readonly primaryDeaths: PrimaryDeath[] = [];
  /** Every host ever started, by index, one entry per start. */
  private readonly started: PusherHost[][] = [];
  private readonly stopping = new Set<PusherHost>();
  private readonly cleanups: Cleanup[] = [];

  private constructor(
    readonly topology: SentinelTopology,
    private readonly env: Record<string, string>,
    private readonly workers: number,
    readonly hosts: PusherHost[],
    readonly ports: number[],
    private proxyRef?: NginxProxy,
  ) {}

  static async start(plan: FaultPlan, durability: Durability): Promise<Fleet> {
    const topology = await startSentinelTopology(undefined, { replicas: plan.replicas, downAfterMs: plan.downAfterMs });
    const env = {
      PUSHER_REDIS_MODE: "sentinel",
      PUSHER_REDIS_SENTINELS: topology.sentinelList,
      PUSHER_REDIS_NAME: topology.name,
      PUSHER_PUBLISH_DURABILITY: durability,
      PUSHER_PUBLISH_TIMEOUT_MS: String(plan.publishTimeoutMs),
    };
    const fleet = new Fleet(topology, env, plan.workersPerHost, [], []);
    fleet.cleanups.push(() => topology.close());
    try {
      const started = await Promise.allSettled(Array.from({ length: plan.hosts }, (_, host) => fleet.launch(host)));
      const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw failed.reason;
      fleet.proxyRef = await startNginx({ after: (fn) => void fleet.cleanups.push(fn) }, fleet.ports, NGINX_WORKER_CONNECTIONS);
    } catch (err) {
      await fleet.close();
      throw err;
    }
    return fleet;
  }

  get proxy(): NginxProxy {
    if (this.proxyRef === undefined) throw new Error("the fleet has no proxy yet");
    return this.proxyRef;
  }

  /** Starts host `index` (on its previous port, if it had one) and watches its primary. */
  private async launch(index: number): Promise<PusherHost> {
    const host = await startPusher(undefined, {
      workers: this.workers,
      env: this.env,
      ...(this.ports[index] !== undefined ? { port: this.ports[index] } : {}),
      timeoutMs: READY_TIMEOUT_MS,
    });
    // Registered first, so close() stops it even if what follows fails.
    this.cleanups.push(async () => void (await this.stopHost(host, "SIGKILL")));
    this.hosts[index] = host;
    this.ports[index] = host.port;
    (this.started[index] ??= []).push(host);
    void host.exited.then((code) => {
      if (!this.stopping.has(host)) this.recordDeath(index, host, code, "unasked");
    });
    return host;
  }

  private recordDeath(index: number, host: PusherHost, code: number | null, when: string): void {
    // An uncaught exception: its message and the first frames say where; else the last log line.
    const stderr = host.stderr().trim().split("\n");
    const thrown = stderr.findIndex((line) => /^\w*Error\b/.test(line));
    const lastWords = thrown >= 0 ? stderr.slice(thrown, thrown + 4).map((l) => l.trim()).join(" ⏎ ") : JSON.stringify(host.lines.at(-1) ?? {});
    this.primaryDeaths.push({ host: index, pid: host.pid, code, when, lastWords });
  }

  private async stopHost(host: PusherHost, signal: NodeJS.Signals): Promise<number | null> {
    this.stopping.add(host);
    if (signal === "SIGKILL") {
      await host.crash();
      return null;
    }
    return host.stop(signal);
  }

  /** Power loss: the primary and its workers SIGKILLed at once. */
  async crash(index: number): Promise<void> {
    await this.stopHost(this.hosts[index]!, "SIGKILL");
  }

  /**
   * An orderly stop (SIGTERM: drain), resolved with the exit code once the whole tree is gone (the
   * helper SIGKILLs it after 15 s, past shutdown.deadlineMs).
   */
  async drain(index: number): Promise<number | null> {
    const host = this.hosts[index]!;
    const code = await this.stopHost(host, "SIGTERM");
    if (code !== 0) this.recordDeath(index, host, code, "while draining");
    return code;
  }

  /** Starts host `index` again on its port, as its supervisor would; resolves once it is ready. */
  async restart(index: number): Promise<void> {
    await this.launch(index);
  }

  /** Workers that died (and were respawned by their primary) on every host, from the primaries' logs. */
  workerDeaths(): number {
    return this.started.flat().flatMap((host) => host.lines).filter((line) => line.msg === "worker died").length;
  }

  /** Writes each host's log and stderr, one pair per start, as `<prefix>-host<H>[-<start>].log`, and nginx's, Redis's and Sentinel's. */
  async saveLogs(prefix: string): Promise<void> {
    await Promise.all(
      this.started.flatMap((starts, index) =>
        starts.map((host, start) => {
          const name = `${prefix}-host${index}${start > 0 ? `-${start + 1}` : ""}`;
          return Promise.all([
            writeFile(`${name}.log`, host.lines.map((l) => JSON.stringify(l)).join("\n") + "\n"),
            writeFile(`${name}.stderr`, host.stderr()),
          ]);
        }),
      ),
    );
    // Sentinel's and Redis's own logs say who promoted whom, and why.
    const redisLogs = (await readdir(this.topology.dir)).filter((file) => file.endsWith(".log"));
    await Promise.all(redisLogs.map((file) => copyFile(path.join(this.topology.dir, file), `${prefix}-${file}`)));
    if (this.proxyRef) {
      await writeFile(`${prefix}-nginx-error.log`, await this.proxyRef.errorLog());
      await writeFile(`${prefix}-nginx-access.log`, await this.proxyRef.accessLog());
    }
  }

  /** nginx, then every host ever started, then Redis: the reverse of the start. */
  async close(): Promise<void> {
    for (const cleanup of this.cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  }
}

export function logPrefix(dir: string, fault: string, round: number): string {
  return path.join(dir, `${fault}-round${round}`);
}
