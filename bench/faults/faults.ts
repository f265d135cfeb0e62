/**
 * The faults, each injected once into a running fleet, 5 s into steady traffic. Each resolves
 * once its last step is done (a host back up, a new master announced), with what happened, so the
 * round knows when the fault is over and the report can say what was done.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Fleet } from "./fleet.js";
import type { FaultPlan } from "./plan.js";

export interface FaultContext {
  fleet: Fleet;
  plan: FaultPlan;
  log(line: string): void;
}

/** What the fault did, step by step, with times from its start ("SIGKILL master :6379 at 0.00 s"). */
export type FaultSteps = string[];

export interface Fault {
  name: string;
  describe: string;
  inject(context: FaultContext): Promise<FaultSteps>;
}

/** The host the faults hit; the other one carries on. */
const TARGET_HOST = 0;

function stepper(): { steps: FaultSteps; step(text: string): void } {
  const started = Date.now();
  const steps: FaultSteps = [];
  return { steps, step: (text) => steps.push(`${text} at ${((Date.now() - started) / 1000).toFixed(2)} s`) };
}

/** SIGKILLs the current master and waits for Sentinel to announce the next one. */
async function killMaster({ fleet, plan }: FaultContext, step: (text: string) => void): Promise<void> {
  const master = await fleet.topology.currentMaster();
  // Armed before the kill, so the announcement cannot slip past unheard.
  const switched = fleet.topology.nextSwitchMaster(plan.stepTimeoutMs);
  master.signal("SIGKILL");
  step(`SIGKILL master ${master.address}`);
  const to = await switched.then(
    (s) => s.to,
    () => undefined,
  );
  step(to === undefined ? "no +switch-master" : `+switch-master to ${to}`);
}

async function restartHost({ fleet }: FaultContext, index: number, step: (text: string) => void): Promise<void> {
  await fleet.restart(index);
  step(`host ${index} ready again`);
}

async function drainHost(context: FaultContext, index: number, step: (text: string) => void): Promise<void> {
  step(`SIGTERM host ${index}`);
  const code = await context.fleet.drain(index);
  step(`host ${index} exited (${code})`);
  await restartHost(context, index, step);
}

export const faults: readonly Fault[] = [
  {
    name: "master-kill",
    describe: "SIGKILL the Redis master; Sentinel promotes a replica",
    async inject(context) {
      const { steps, step } = stepper();
      await killMaster(context, step);
      return steps;
    },
  },
  {
    name: "double-failover",
    describe: "SIGKILL the master, then the promoted one 1 s after its +switch-master; the last replica takes over",
    async inject(context) {
      const { steps, step } = stepper();
      await killMaster(context, step);
      await sleep(context.plan.secondKillAfterMs);
      await killMaster(context, step);
      return steps;
    },
  },
  {
    name: "worker-kill",
    describe: "SIGKILL one worker of host 0; its primary respawns it",
    async inject({ fleet }) {
      const { steps, step } = stepper();
      const host = fleet.hosts[TARGET_HOST]!;
      const pid = host.workers.get(0);
      if (pid === undefined) throw new Error("host 0 announced no worker 0");
      const respawned = host.waitForLog((l) => l.msg === "worker ready" && l.index === 0 && l.workerPid !== pid, 30_000);
      process.kill(pid, "SIGKILL");
      step(`SIGKILL worker 0 (pid ${pid}) of host 0`);
      await respawned.then(
        () => step("worker 0 ready again"),
        () => step("worker 0 not respawned"),
      );
      return steps;
    },
  },
  {
    name: "host-kill",
    describe: "SIGKILL host 0 (primary and workers, as a power loss), start it again 3 s later",
    async inject(context) {
      const { steps, step } = stepper();
      await context.fleet.crash(TARGET_HOST);
      step("SIGKILL host 0");
      await sleep(context.plan.hostDownMs);
      await restartHost(context, TARGET_HOST, step);
      return steps;
    },
  },
  {
    name: "host-drain",
    describe: "SIGTERM host 0 (drain: clients sent elsewhere), start it again once it exited",
    async inject(context) {
      const { steps, step } = stepper();
      await drainHost(context, TARGET_HOST, step);
      return steps;
    },
  },
  {
    name: "rolling-restart",
    describe: "drain and restart each host in turn, the next once the previous is ready",
    async inject(context) {
      const { steps, step } = stepper();
      for (let index = 0; index < context.fleet.hosts.length; index++) await drainHost(context, index, step);
      return steps;
    },
  },
];
