/**
 * The coordinator side of the load generator: forks K client processes, spreads the
 * connections over them, and merges what they count.
 */
import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { askEach, closeChildren } from "./child-ipc.js";
import { LatencyHistogram } from "./histogram.js";
import type { ClientEvent, ClientReport, CoordinatorCommand } from "./protocol.js";

const CLIENT_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "client-process.js");

export interface OpenOptions {
  url: string;
  /** Channel of each connection, in order; connection i goes to process i mod `processes`. */
  channels: string[];
  processes: number;
  concurrencyPerProcess: number;
  connectTimeoutMs: number;
  attempts: number;
  /** Bound on the whole connect-and-subscribe phase. */
  openTimeoutMs: number;
}

export interface OpenSummary {
  connected: number;
  subscribed: number;
  failed: number;
  /** Connection attempts that failed and were tried again. */
  retried: number;
  firstError?: string;
  elapsedMs: number;
}

export interface LoadReport {
  received: number;
  outOfOrder: number;
  disconnects: number;
  histogram: LatencyHistogram;
  sinceServerTs: LatencyHistogram;
}

type EventOf<T extends ClientEvent["type"]> = Extract<ClientEvent, { type: T }>;

export class LoadGenerator {
  private constructor(private readonly children: ChildProcess[]) {}

  /** Forks the client processes and waits until every connection is subscribed or has failed. */
  static async open(options: OpenOptions): Promise<{ load: LoadGenerator; summary: OpenSummary }> {
    const started = Date.now();
    const children = Array.from({ length: options.processes }, () =>
      fork(CLIENT_SCRIPT, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] }),
    );
    const load = new LoadGenerator(children);
    const opened = await load.askAll("opened", options.openTimeoutMs, (index) => ({
      type: "open",
      plan: {
        url: options.url,
        channels: options.channels.filter((_, i) => i % options.processes === index),
        concurrency: options.concurrencyPerProcess,
        connectTimeoutMs: options.connectTimeoutMs,
        attempts: options.attempts,
      },
    }));
    const summary: OpenSummary = { connected: 0, subscribed: 0, failed: 0, retried: 0, elapsedMs: Date.now() - started };
    for (const o of opened) {
      summary.connected += o.connected;
      summary.subscribed += o.subscribed;
      summary.failed += o.failed;
      summary.retried += o.retried;
      summary.firstError ??= o.firstError;
    }
    return { load, summary };
  }

  /** PIDs of the client processes, to account for the load generator's own CPU. */
  get pids(): number[] {
    return this.children.map((c) => c.pid).filter((pid): pid is number => pid !== undefined);
  }

  /** From now on every process counts only messages of `run`, from zero. */
  async measure(run: string): Promise<void> {
    await this.askAll("measuring", 10_000, () => ({ type: "measure", run }));
  }

  /** Messages of the measured run received so far, over all processes. */
  async received(): Promise<number> {
    const counts = await this.askAll("count", 10_000, () => ({ type: "count" }));
    return counts.reduce((sum, c) => sum + c.received, 0);
  }

  async report(): Promise<LoadReport> {
    const reports: ClientReport[] = await this.askAll("report", 10_000, () => ({ type: "report" }));
    const merged: LoadReport = { received: 0, outOfOrder: 0, disconnects: 0, histogram: new LatencyHistogram(), sinceServerTs: new LatencyHistogram() };
    for (const r of reports) {
      merged.received += r.received;
      merged.outOfOrder += r.outOfOrder;
      merged.disconnects += r.disconnects;
      merged.histogram.merge(r.histogram);
      merged.sinceServerTs.merge(r.sinceServerTs);
    }
    return merged;
  }

  /** Disconnects every client and waits (bounded) for the processes to exit, then kills stragglers. */
  async close(): Promise<void> {
    await closeChildren(this.children, { type: "close" } satisfies CoordinatorCommand);
  }

  private askAll<T extends ClientEvent["type"]>(type: T, timeoutMs: number, command: (index: number) => CoordinatorCommand): Promise<EventOf<T>[]> {
    return askEach<ClientEvent, T>(this.children, type, timeoutMs, command);
  }
}
