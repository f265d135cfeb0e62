/**
 * CPU time and resident memory of a process and all its descendants, read from /proc
 * (Linux only). CPU is utime + stime in clock ticks; RSS is the sum of VmRSS.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

const CLOCK_TICKS_PER_SECOND = readClockTicks();

function readClockTicks(): number {
  try {
    const ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
}

/** Fields after the command name, which is in parentheses and may itself hold spaces. */
function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined; // exited between listing and reading
  }
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is stat field 3 (state): ppid is field 4, utime 14, stime 15.
  return { pid, ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

function allStats(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) stats.push(stat);
  }
  return stats;
}

/** The stats of the root processes and every process below them. */
function treeStats(...rootPids: number[]): ProcStat[] {
  const stats = allStats();
  const children = new Map<number, ProcStat[]>();
  for (const stat of stats) {
    const list = children.get(stat.ppid) ?? [];
    list.push(stat);
    children.set(stat.ppid, list);
  }
  const tree: ProcStat[] = [];
  const queue = stats.filter((s) => rootPids.includes(s.pid));
  for (let stat = queue.shift(); stat; stat = queue.shift()) {
    tree.push(stat);
    queue.push(...(children.get(stat.pid) ?? []));
  }
  return tree;
}

/** CPU ticks per pid of a tree at one moment. */
export type CpuSample = Map<number, number>;

export function sampleCpu(...rootPids: number[]): CpuSample {
  return new Map(treeStats(...rootPids).map((s) => [s.pid, s.cpuTicks]));
}

/**
 * CPU seconds used between two samples, by the whole tree or by the given pids only; a process
 * born in between counts in full.
 */
export function cpuSecondsBetween(before: CpuSample, after: CpuSample, only?: number[]): number {
  let ticks = 0;
  for (const [pid, cpu] of after) if (!only || only.includes(pid)) ticks += cpu - (before.get(pid) ?? 0);
  return ticks / CLOCK_TICKS_PER_SECOND;
}

/** VmRSS of one process, in bytes (0 once it has exited). */
export function processRssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return Number(match?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Sum of VmRSS over the tree, in bytes. */
export function treeRssBytes(rootPid: number): number {
  return treeStats(rootPid).reduce((sum, { pid }) => sum + processRssBytes(pid), 0);
}

/** The direct children of a process (a cluster primary's workers). */
export function childPids(parentPid: number): number[] {
  return allStats()
    .filter((s) => s.ppid === parentPid)
    .map((s) => s.pid);
}
