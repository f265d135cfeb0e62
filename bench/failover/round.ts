/**
 * One failover round for one server: a fresh Sentinel topology, two hosts on it, subscribers on
 * both, steady publishes; then the master is SIGKILLed, publishing goes on, every answer is
 * awaited and the subscribers are given time to catch up. Returns what was observed, unjudged.
 */
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { busyFraction, sampleMachineCpu } from "../measure/machine-cpu.js";
import { startSentinelTopology } from "../../test/helpers/redis-topology.js";
import { startServer, type RunningServer } from "../server-process.js";
import type { ServerDescriptor } from "../servers.js";
import type { FailoverPlan } from "./plan.js";
import type { SubscriberReport } from "./protocol.js";
import { startPublishing, type PublishRecord } from "./publisher.js";
import { FailoverSubscribers } from "./subscribers.js";

export interface SwitchMaster {
  from: string;
  to: string;
  at: number;
}

export interface RoundObservation {
  server: string;
  /** Subscribers that got their first subscribe ack, per host. */
  subscribed: number[];
  subscribeError?: string;
  publishes: PublishRecord[];
  /** Per host, in host order: what its subscribers received. */
  reports: SubscriberReport[];
  /** Date.now() just before the SIGKILL. */
  faultAt: number;
  /** Undefined when Sentinel announced no new master in time. */
  switchMaster?: SwitchMaster;
  /** Share of the machine's CPU busy while publishing (everything on it, not only this bench). */
  machineBusy: number;
}

export interface RoundContext {
  round: number;
  log(line: string): void;
  /** A folder to keep each host's log in, as `<server>-round<R>-host<H>.log`. */
  logsDir?: string;
}

type Cleanup = () => Promise<void>;

async function startHosts(server: ServerDescriptor, count: number, env: Record<string, string>, context: RoundContext, cleanups: Cleanup[]): Promise<RunningServer[]> {
  const logFile = (host: number): string | undefined =>
    context.logsDir !== undefined ? path.join(context.logsDir, `${server.name}-round${context.round}-host${host}.log`) : undefined;
  const started = await Promise.allSettled(Array.from({ length: count }, (_, host) => startServer(server, 1, { env, logFile: logFile(host) })));
  // Register every host that did start before failing on one that did not, so none is left behind.
  for (const result of started) if (result.status === "fulfilled") cleanups.push(() => result.value.stop());
  const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return started.map((r) => (r as PromiseFulfilledResult<RunningServer>).value);
}

export async function runFailoverRound(server: ServerDescriptor, plan: FailoverPlan, context: RoundContext): Promise<RoundObservation> {
  const { log } = context;
  const cleanups: Cleanup[] = [];
  try {
    const topology = await startSentinelTopology(undefined, { replicas: plan.replicas, downAfterMs: plan.downAfterMs });
    cleanups.push(() => topology.close());
    log(`topology up: sentinels ${topology.sentinelList}`);

    const hosts = await startHosts(server, plan.hosts, server.sentinelEnv(topology.sentinelList, topology.name), context, cleanups);
    log(`hosts ready: ${hosts.map((h) => `${h.url} (pid ${h.pid})`).join(", ")}`);

    const opened = await FailoverSubscribers.open(
      hosts.map((h) => ({
        url: h.url,
        channels: [plan.channel],
        transports: [["websocket"]],
        count: plan.subscribersPerHost,
        client: server.client,
        connectTimeoutMs: plan.connectTimeoutMs,
      })),
    );
    cleanups.push(() => opened.subscribers.close());
    log(`subscribed per host: ${opened.subscribed.join(", ")}${opened.firstError ? ` (first error: ${opened.firstError})` : ""}`);
    if (opened.subscribed.every((n) => n === 0)) throw new Error(`${server.name}: no subscriber could subscribe (${opened.firstError ?? "?"})`);

    // Looked up before publishing starts, so the fault comes right when planned.
    const master = await topology.currentMaster();
    const machineBefore = sampleMachineCpu();
    const publisher = startPublishing(
      { urls: hosts.map((h) => h.url + server.publishPath), headers: server.publishHeaders, channel: plan.channel },
      { perSecond: plan.publishesPerSecond, maxInFlight: plan.maxInFlight, requestTimeoutMs: plan.requestTimeoutMs },
    );
    await sleep(plan.beforeFaultMs);

    // Armed before the fault, so the announcement cannot slip past unheard.
    const switched = topology.nextSwitchMaster(plan.switchTimeoutMs).catch((err: unknown) => {
      log(`no new master: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    });
    const faultAt = Date.now();
    master.signal("SIGKILL");
    log(`SIGKILL master ${master.address} (pid ${master.pid})`);

    await sleep(plan.afterFaultMs);
    const publishes = await publisher.stop();
    const machineBusy = busyFraction(machineBefore, sampleMachineCpu());
    const switchMaster = await switched;
    const acked = publishes.filter((p) => p.acked).map((p) => p.seq);
    log(`${publishes.length} published, ${acked.length} acknowledged; +switch-master ${switchMaster ? `${switchMaster.at - faultAt} ms after the fault, to ${switchMaster.to}` : "never"}`);

    await opened.subscribers.awaitDelivery(
      acked.map((seq) => ({ seq, channel: plan.channel })),
      plan.drainMs,
    );
    const reports = await opened.subscribers.report();
    return {
      server: server.name,
      subscribed: opened.subscribed,
      ...(opened.firstError !== undefined ? { subscribeError: opened.firstError } : {}),
      publishes,
      reports,
      faultAt,
      ...(switchMaster ? { switchMaster } : {}),
      machineBusy,
    };
  } finally {
    // Subscribers, then hosts, then Redis: the reverse of the start.
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => log(`cleanup failed: ${String(err)}`));
  }
}
