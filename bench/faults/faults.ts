/**
 * The faults, each injected once into a running fleet, 5 s into steady traffic. Each resolves
 * once its last step is done (a host back up, a new master announced) and names its steps as it
 * goes, so the round knows when the fault is over and the report can say what was done when.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { RedisNode } from "../../test/helpers/redis-topology.js";
import { untilRoutedTo } from "./addresses.js";
import type { Fleet } from "./fleet.js";
import type { FaultPlan } from "./plan.js";

export interface FaultContext {
  fleet: Fleet;
  plan: FaultPlan;
  log(line: string): void;
}

/** What the fault did, step by step, with times from its start ("SIGKILL master :6379 at 0.00 s"). */
export type FaultSteps = string[];

/** Killed Redis servers started again: when the first was started, and when the first was a linked replica (Date.now()). */
export interface RedisRestored {
  startedAt: number;
  linkedAt?: number;
  /** The servers started again ("host:port"), empty: Sentinel promoting one loses every write. */
  addresses: string[];
}

export interface FaultOutcome {
  steps: FaultSteps;
  restored?: RedisRestored;
}

type Step = (text: string) => void;

export interface Fault {
  name: string;
  describe: string;
  /** Injects the fault, calling `step` as each step is done; names when a replica came back, if one did. */
  inject(context: FaultContext, step: Step): Promise<RedisRestored | void>;
}

/** The host the faults hit; the other one carries on. */
const TARGET_HOST = 0;

/** Injects `fault`; resolves with its steps, each timed from the start. */
export async function injectFault(fault: Fault, context: FaultContext): Promise<FaultOutcome> {
  const started = Date.now();
  const steps: FaultSteps = [];
  const end = await fault.inject(context, (text) => steps.push(`${text} at ${((Date.now() - started) / 1000).toFixed(2)} s`));
  return { steps, ...(end ? { restored: end } : {}) };
}

/**
 * The next +switch-master away from `from`. Every sentinel announces a switch as it learns of it,
 * so the previous failover's announcements can still be arriving: those are skipped.
 */
async function switchFrom(fleet: Fleet, from: string, deadline: number): Promise<string | undefined> {
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    const next = await fleet.topology.nextSwitchMaster(left).catch(() => undefined);
    if (next === undefined) return undefined;
    if (next.from === from) return next.to;
  }
}

/**
 * SIGKILLs `master` and waits for Sentinel to announce the next one, which it returns. No
 * sentinel is asked who the master is: on a loaded machine that alone took seconds, shifting
 * the fault; the topology starts with its first node as master, and each +switch-master names
 * the next.
 */
async function killMaster({ fleet, plan }: FaultContext, master: RedisNode, step: Step): Promise<RedisNode | undefined> {
  // Armed before the kill, so the announcement cannot slip past unheard.
  const switched = switchFrom(fleet, master.address, Date.now() + plan.stepTimeoutMs);
  master.signal("SIGKILL");
  step(`SIGKILL master ${master.address}`);
  const to = await switched;
  step(to === undefined ? "no +switch-master" : `+switch-master to ${to}`);
  return fleet.topology.redis.find((node) => node.address === to);
}

/**
 * Starts the killed Redis servers again on their ports, as their supervisor would, and waits until
 * Sentinel has made them replicas of the current master and they have synced: from the first
 * linked replica on, a `replica` publish can be acknowledged again.
 */
async function restoreRedis({ fleet, plan }: FaultContext, killed: RedisNode[], step: Step): Promise<RedisRestored> {
  const startedAt = Date.now();
  const linked = await Promise.all(
    killed.map(async (node) => {
      const again = await fleet.topology.restart(node);
      step(`redis ${again.address} started again`);
      try {
        await fleet.topology.untilLinkedReplica(again, plan.stepTimeoutMs);
      } catch {
        step(`redis ${again.address} not a linked replica`);
        return undefined;
      }
      const at = Date.now();
      step(`redis ${again.address} a linked replica`);
      return at;
    }),
  );
  const back = linked.filter((at): at is number => at !== undefined);
  return { startedAt, addresses: killed.map((node) => node.address), ...(back.length > 0 ? { linkedAt: Math.min(...back) } : {}) };
}

async function restartHost({ fleet }: FaultContext, index: number, step: Step): Promise<void> {
  await fleet.restart(index);
  step(`host ${index} ready again`);
}

async function drainHost(context: FaultContext, index: number, step: Step): Promise<void> {
  step(`SIGTERM host ${index}`);
  const code = await context.fleet.drain(index);
  step(`host ${index} exited (${code})`);
  await restartHost(context, index, step);
}

export const faults: readonly Fault[] = [
  {
    name: "master-kill",
    describe: "SIGKILL the Redis master; Sentinel promotes a replica",
    async inject(context, step) {
      await killMaster(context, context.fleet.topology.redis[0]!, step);
    },
  },
  {
    name: "double-failover",
    describe:
      "SIGKILL the master, then the promoted one 1 s after its +switch-master; the last replica takes over; once it has, both killed servers start again (empty, on their ports) and Sentinel makes them its replicas",
    async inject(context, step) {
      const first = context.fleet.topology.redis[0]!;
      const promoted = await killMaster(context, first, step);
      if (promoted === undefined) return;
      await sleep(context.plan.secondKillAfterMs);
      await killMaster(context, promoted, step);
      return restoreRedis(context, [first, promoted], step);
    },
  },
  {
    name: "worker-kill",
    describe: "SIGKILL one worker of host 0; its primary respawns it",
    async inject(context, step) {
      const host = context.fleet.hosts[TARGET_HOST]!;
      const pid = host.workers.get(0);
      if (pid === undefined) throw new Error("host 0 announced no worker 0");
      const respawned = host.waitForLog((l) => l.msg === "worker ready" && l.index === 0 && l.workerPid !== pid, context.plan.stepTimeoutMs).then(
        () => "worker 0 ready again",
        () => "worker 0 not respawned",
      );
      process.kill(pid, "SIGKILL");
      step(`SIGKILL worker 0 (pid ${pid}) of host 0`);
      step(await Promise.race([respawned, host.exited.then((code) => `the primary exited (${code})`)]));
    },
  },
  {
    name: "host-kill",
    describe: "SIGKILL host 0 (primary and workers, as a power loss), start it again 3 s later",
    async inject(context, step) {
      await context.fleet.crash(TARGET_HOST);
      step("SIGKILL host 0");
      await sleep(context.plan.hostDownMs);
      await restartHost(context, TARGET_HOST, step);
    },
  },
  {
    name: "host-drain",
    describe: "SIGTERM host 0 (drain: clients sent elsewhere), start it again once it exited",
    inject: (context, step) => drainHost(context, TARGET_HOST, step),
  },
  {
    name: "rolling-restart",
    describe: "drain and restart each host in turn, the next once nginx routes to the previous one again (the documented procedure)",
    async inject(context, step) {
      const { fleet, plan } = context;
      for (let index = 0; index < fleet.hosts.length; index++) {
        await drainHost(context, index, step);
        if (index === fleet.hosts.length - 1) break;
        const back = await untilRoutedTo(fleet.proxy.url, `127.0.0.1:${fleet.ports[index]}`, plan.stepTimeoutMs);
        step(back ? `nginx routes to host ${index} again` : `nginx does not route to host ${index} again`);
      }
    },
  },
];
