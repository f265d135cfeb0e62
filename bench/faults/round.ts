/**
 * One fault round: a fresh fleet (Sentinel topology, hosts, nginx), subscribers through nginx on
 * websocket and long-polling, HTTP and ingress publishing; the fault 5 s in, publishing on until
 * the fault is over and a while after; then every answer is awaited and the subscribers get time
 * to catch up. Returns what was observed, unjudged; every process is stopped, by PID, also when
 * the round fails.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { connectionCount } from "../../test/helpers/pusher.js";
import { busyFraction, sampleMachineCpu } from "../measure/machine-cpu.js";
import type { SubscriberPlan, SubscriberReport } from "../failover/protocol.js";
import type { Paced } from "../failover/publisher.js";
import { FailoverSubscribers } from "../failover/subscribers.js";
import type { Redis } from "ioredis";
import { retryUntil } from "../../src/redis-client/retry-until.js";
import { withAdmin } from "../../src/redis-client/sentinel-commands.js";
import { INGRESS_GROUP } from "../../src/publish/redis-ingress.js";
import { injectFault, type Fault, type RedisRestored } from "./faults.js";
import { spreadAddresses } from "./addresses.js";
import { Fleet, logPrefix, type PrimaryDeath } from "./fleet.js";
import type { Durability, FaultPlan } from "./plan.js";
import { INGRESS_STREAM, startHttpPublisher, startIngressPublisher, type FaultPublish } from "./publishers.js";

export interface FaultObservation {
  fault: string;
  round: number;
  durability: Durability;
  plannedSubscribers: number;
  /** Subscribers that got their first subscribe ack, per client process. */
  subscribed: number[];
  subscribeError?: string;
  /** Socket.IO connections each host held once every subscriber had subscribed. */
  connectionsPerHost: number[];
  publishes: FaultPublish[];
  reports: SubscriberReport[];
  faultAt: number;
  /** What the fault did, with times from its start. */
  steps: string[];
  /** Killed Redis servers started again by the fault, and then when the ingress backlog was drained (if it was). */
  restored?: RedisRestored & { backlogDrainedAt?: number; emptyPromoted?: string };
  primaryDeaths: PrimaryDeath[];
  workerDeaths: number;
  machineBusy: number;
}

export interface RoundContext {
  round: number;
  durability: Durability;
  log(line: string): void;
  logsDir?: string;
}

/** Ingress seqs start here, so both publishers' seqs are unique in the round. */
const INGRESS_FIRST_SEQ = 1_000_000;
const BACKLOG_POLL_MS = 100;

/** "1733093701234-5" as a comparable pair. */
function streamId(id: string): [bigint, bigint] {
  const [ms, seq] = id.split("-");
  return [BigInt(ms ?? 0), BigInt(seq ?? 0)];
}

function atOrAfter(a: string, b: string): boolean {
  const [x, y] = [streamId(a), streamId(b)];
  return x[0] > y[0] || (x[0] === y[0] && x[1] >= y[1]);
}

/** Runs `use` on the master Sentinel names now. */
async function onMaster<T>(fleet: Fleet, use: (client: Redis) => Promise<T>): Promise<T> {
  return withAdmin((await fleet.topology.currentMaster()).address, "", use);
}

/**
 * When pusher's ingress group has published every entry written up to now: read past the stream's
 * last id of now, and none of those entries pending (its reader retries entries it read and could
 * not publish, so after an outage that takes until a retry succeeds). Polled while publishing
 * goes on; undefined if not within `timeoutMs`.
 */
async function ingressBacklogDrained(fleet: Fleet, timeoutMs: number): Promise<number | undefined> {
  try {
    const deadline = Date.now() + timeoutMs;
    const backlogEnd = await retryUntil(
      () => onMaster(fleet, async (client) => fieldOf((await client.call("XINFO", "STREAM", INGRESS_STREAM)) as unknown[], "last-generated-id")),
      { timeoutMs, intervalMs: BACKLOG_POLL_MS },
    );
    return await retryUntil(
      () =>
        onMaster(fleet, async (client) => {
          const groups = (await client.call("XINFO", "GROUPS", INGRESS_STREAM)) as unknown[][];
          const group = groups.find((g) => fieldOf(g, "name") === INGRESS_GROUP);
          const read = group !== undefined ? fieldOf(group, "last-delivered-id") : "0-0";
          const pending = (await client.call("XPENDING", INGRESS_STREAM, INGRESS_GROUP, "-", backlogEnd, "1")) as unknown[];
          if (!atOrAfter(read, backlogEnd) || pending.length > 0) throw new Error(`ingress backlog up to ${backlogEnd}: read up to ${read}, ${pending.length} pending`);
          return Date.now();
        }),
      { timeoutMs: Math.max(0, deadline - Date.now()), intervalMs: BACKLOG_POLL_MS },
    );
  } catch {
    return undefined;
  }
}

/** A field of an XINFO reply ([name, value, name, value, ...]). */
function fieldOf(reply: unknown[], name: string): string {
  return String(reply[reply.indexOf(name) + 1]);
}

export async function runFaultRound(fault: Fault, plan: FaultPlan, context: RoundContext): Promise<FaultObservation> {
  const { log } = context;
  const fleet = await Fleet.start(plan, context.durability);
  let subscribers: FailoverSubscribers | undefined;
  const publishers: Paced<FaultPublish>[] = [];
  try {
    log(`fleet up: hosts ${fleet.hosts.map((h) => `${h.url} (pid ${h.pid})`).join(", ")} behind ${fleet.proxy.url}`);
    const channels = Array.from({ length: plan.channels }, (_, i) => `fault-${i}`);
    // Client process p connects from addresses 127.0.(p+1).x, the HTTP publisher from the next block.
    const perHost = plan.sourceAddresses / plan.hosts;
    const addresses = await Promise.all(Array.from({ length: plan.clientProcesses + 1 }, (_, p) => spreadAddresses(fleet.proxy.url, p + 1, plan.hosts, perHost)));
    const plans: SubscriberPlan[] = Array.from({ length: plan.clientProcesses }, (_, p) => ({
      url: fleet.proxy.url,
      channels,
      transports: plan.transports,
      localAddresses: addresses[p]!,
      count: plan.subscribers / plan.clientProcesses,
      client: "pusher",
      connectTimeoutMs: plan.connectTimeoutMs,
    }));
    const opened = await FailoverSubscribers.open(plans);
    subscribers = opened.subscribers;
    log(`subscribed: ${opened.subscribed.join(" + ")}${opened.firstError ? ` (first error: ${opened.firstError})` : ""}`);

    // Counted before publishing starts: on a loaded machine /metrics can take seconds to answer.
    const connectionsPerHost = await Promise.all(fleet.hosts.map((h) => connectionCount(h).catch(() => Number.NaN)));
    const rate = { maxInFlight: plan.maxInFlight, answerBoundMs: plan.publishTimeoutMs + plan.answerMarginMs, abandonAfterMs: plan.abandonAfterMs };
    const machineBefore = sampleMachineCpu();
    const http = startHttpPublisher(fleet.proxy.url, channels, addresses[plan.clientProcesses]!, { ...rate, perSecond: plan.httpPerSecond }, 0);
    const ingress = startIngressPublisher(fleet.topology.sentinelList, fleet.topology.name, channels, context.durability, { ...rate, perSecond: plan.ingressPerSecond }, INGRESS_FIRST_SEQ);
    publishers.push(http, ingress);
    await sleep(plan.beforeFaultMs);

    const faultAt = Date.now();
    const { steps, restored } = await injectFault(fault, { fleet, plan, log });
    // Polled from now, beside the publishing: what pusher could not publish while no replica was there.
    const backlog = restored?.linkedAt !== undefined ? ingressBacklogDrained(fleet, plan.backlogDrainMs) : undefined;
    log(`${fault.name}: ${steps.join("; ")}`);
    await sleep(Math.max(faultAt + plan.afterFaultMs, Date.now() + plan.settleMs) - Date.now());

    // Sentinel may fail over again on its own (a promoted master that looked down on the loaded
    // machine): such a switch explains losses the fault alone would not, so the round names it.
    // Each switch the fault waited for is named in its steps once, in order; a later switch back
    // to the same master is another one.
    const named = steps.filter((step) => step.startsWith("+switch-master to "));
    for (const { to, at } of fleet.topology.switchesSeen()) {
      if (at < faultAt) continue;
      const own = named.findIndex((step) => step.startsWith(`+switch-master to ${to} `));
      if (own >= 0) named.splice(own, 1);
      else steps.push(`+switch-master to ${to} (Sentinel's own) at ${((at - faultAt) / 1000).toFixed(2)} s`);
    }
    const emptyPromoted = restored && fleet.topology.switchesSeen().find(({ to, at }) => at >= restored.startedAt && restored.addresses.includes(to))?.to;
    const publishes = [...(await http.stop()), ...(await ingress.stop())];
    const machineBusy = busyFraction(machineBefore, sampleMachineCpu());
    const acked = publishes.filter((p) => p.acked);
    log(`${publishes.length} published, ${acked.length} acknowledged`);
    // Loss is counted only once pusher had its chance: entries it read and could not publish
    // while no replica was there are published by its reader's next retry.
    const backlogDrainedAt = await backlog;
    if (backlog !== undefined) log(backlogDrainedAt !== undefined ? "ingress backlog drained" : `ingress backlog not drained within ${plan.backlogDrainMs / 1000} s`);
    await subscribers.awaitDelivery(
      acked.map(({ seq, channel, epoch, offset }) => ({ seq, channel, ...(epoch !== undefined && offset !== undefined ? { epoch, offset } : {}) })),
      plan.drainMs,
    );
    const reports = await subscribers.report();
    return {
      fault: fault.name,
      round: context.round,
      durability: context.durability,
      plannedSubscribers: plan.subscribers,
      subscribed: opened.subscribed,
      ...(opened.firstError !== undefined ? { subscribeError: opened.firstError } : {}),
      connectionsPerHost,
      publishes,
      reports,
      faultAt,
      steps,
      ...(restored !== undefined ? { restored: { ...restored, ...(backlogDrainedAt !== undefined ? { backlogDrainedAt } : {}), ...(emptyPromoted ? { emptyPromoted } : {}) } } : {}),
      primaryDeaths: [...fleet.primaryDeaths],
      workerDeaths: fleet.workerDeaths(),
      machineBusy,
    };
  } finally {
    // Stopped already unless the round failed; a second stop only waits for nothing.
    await Promise.all(publishers.map((p) => p.stop()));
    await subscribers?.close();
    if (context.logsDir !== undefined) await fleet.saveLogs(logPrefix(context.logsDir, fault.name, context.round)).catch((err: unknown) => log(`saving logs failed: ${String(err)}`));
    await fleet.close();
  }
}
