/**
 * Node cannot raise its own RLIMIT_NOFILE, so when the soft limit is too low for the bench's
 * sockets we re-run ourselves under `ulimit -n` (children inherit it) up to the hard limit.
 */
import { execFileSync, spawnSync } from "node:child_process";

const REEXEC_MARK = "PUSHER_BENCH_FD_RAISED";

function shellLimit(flag: "-Sn" | "-Hn"): number {
  const out = execFileSync("sh", ["-c", `ulimit ${flag}`], { encoding: "utf8" }).trim();
  return out === "unlimited" ? Number.POSITIVE_INFINITY : Number(out);
}

/**
 * Returns undefined when this process may go on, or the exit code of the re-run that did the
 * work under a raised limit.
 */
export function ensureFdLimit(needed: number, log: (line: string) => void): number | undefined {
  const soft = shellLimit("-Sn");
  if (soft >= needed || process.env[REEXEC_MARK]) {
    if (soft < needed) log(`warning: open-file limit ${soft} < ${needed} needed; expect connection failures`);
    return undefined;
  }
  const hard = shellLimit("-Hn");
  const target = Math.min(hard, Math.max(needed, 65_536));
  log(`raising the open-file limit from ${soft} to ${target}`);
  const rerun = spawnSync("sh", ["-c", `ulimit -n ${target} && exec "$0" "$@"`, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, [REEXEC_MARK]: "1" },
  });
  return rerun.status ?? 1;
}
