import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** Established TCP connections to local `port` that process `pid` holds open: what a worker really serves. */
export function connectionsHeldBy(pid: number, port: number): number {
  const inodes = new Set<string>();
  const portHex = port.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const row of readFileSync(table, "utf8").trim().split("\n").slice(1)) {
      const cols = row.trim().split(/\s+/);
      if (cols[1]?.endsWith(`:${portHex}`) && cols[3] === "01") inodes.add(cols[9]!);
    }
  }
  let held = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
      if (inode && inodes.has(inode)) held++;
    } catch {
      // closed meanwhile
    }
  }
  return held;
}
