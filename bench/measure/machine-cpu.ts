/** Whole-machine CPU use from /proc/stat, to tell a saturated machine from a stalled process. */
import { readFileSync } from "node:fs";

export interface MachineCpuSample {
  busy: number;
  total: number;
  steal: number;
}

export function sampleMachineCpu(): MachineCpuSample {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busy: total - idle - iowait, total, steal };
}

/** Fraction of all cores' time that was busy (steal included) between two samples. */
export function busyFraction(before: MachineCpuSample, after: MachineCpuSample): number {
  const total = after.total - before.total;
  return total > 0 ? (after.busy - before.busy) / total : Number.NaN;
}
