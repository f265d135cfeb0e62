/**
 * The coordinator side of the failover subscribers: one process per plan (the failover bench gives
 * one per host, so each host's subscribers are told apart: a delivery that crossed hosts went
 * through Redis).
 */
import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { askEach, closeChildren } from "../load/child-ipc.js";
import type { AckedMessage, SubscriberCommand, SubscriberEvent, SubscriberPlan, SubscriberReport } from "./protocol.js";

const SUBSCRIBER_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "subscriber-process.js");
const IPC_TIMEOUT_MS = 10_000;

export class FailoverSubscribers {
  private constructor(private readonly children: ChildProcess[]) {}

  /** One process per plan, each opening its subscribers; resolves with how many subscribed per plan. */
  static async open(plans: SubscriberPlan[]): Promise<{ subscribers: FailoverSubscribers; subscribed: number[]; firstError?: string }> {
    const children = plans.map(() => fork(SUBSCRIBER_SCRIPT, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] }));
    const subscribers = new FailoverSubscribers(children);
    try {
      const longest = Math.max(...plans.map((p) => p.connectTimeoutMs));
      const opened = await subscribers.askAll("opened", longest + IPC_TIMEOUT_MS, (i) => ({ type: "open", plan: plans[i]! }));
      const firstError = opened.find((o) => o.firstError !== undefined)?.firstError;
      return { subscribers, subscribed: opened.map((o) => o.subscribed), ...(firstError !== undefined ? { firstError } : {}) };
    } catch (err) {
      await subscribers.close();
      throw err;
    }
  }

  /** Waits until every subscriber holds every acknowledged seq, or `timeoutMs` passes. */
  async awaitDelivery(acked: AckedMessage[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let missing = await this.askAll("missing", IPC_TIMEOUT_MS, () => ({ type: "missing", acked }));
    while (missing.some((m) => m.missedDeliveries > 0) && Date.now() < deadline) {
      await sleep(200);
      missing = await this.askAll("missing", IPC_TIMEOUT_MS, () => ({ type: "missing" }));
    }
  }

  /** One report per plan, in the order the plans were given. */
  async report(): Promise<SubscriberReport[]> {
    return this.askAll("report", IPC_TIMEOUT_MS, () => ({ type: "report" }));
  }

  async close(): Promise<void> {
    await closeChildren(this.children, { type: "close" } satisfies SubscriberCommand);
  }

  private askAll<T extends SubscriberEvent["type"]>(type: T, timeoutMs: number, command: (index: number) => SubscriberCommand): Promise<Extract<SubscriberEvent, { type: T }>[]> {
    return askEach<SubscriberEvent, T>(this.children, type, timeoutMs, command);
  }
}
