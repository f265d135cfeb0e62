import { readFileSync } from "node:fs";
import type { PusherHost } from "./pusher.js";

/** Resident memory of a live process in bytes, from /proc/<pid>/status (VmRSS). */
export function rssBytes(pid: number): number {
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kib) * 1024;
}

/** The primary's and every worker's RSS, by pid; throws if one of them is gone. */
export function hostRss(host: PusherHost): Map<number, number> {
  const pids = [host.pid, ...host.workers.values()];
  return new Map(pids.map((pid) => [pid, rssBytes(pid)]));
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
