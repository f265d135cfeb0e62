import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** Established TCP sockets on local `port`, by inode, with the bytes received that nobody has read yet. */
function establishedAt(port: number): Map<string, number> {
  const unread = new Map<string, number>();
  const portHex = port.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const row of readFileSync(table, "utf8").trim().split("\n").slice(1)) {
      const cols = row.trim().split(/\s+/);
      // cols: sl, local, remote, state (01 = established), tx_queue:rx_queue, ..., inode (10th)
      if (cols[1]?.endsWith(`:${portHex}`) && cols[3] === "01") unread.set(cols[9]!, parseInt(cols[4]!.split(":")[1]!, 16));
    }
  }
  return unread;
}

/** The socket inodes process `pid` holds open. */
function socketsOf(pid: number): string[] {
  const inodes: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
      if (inode) inodes.push(inode);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** Established TCP connections to local `port` that process `pid` holds open: what a worker really serves. */
export function connectionsHeldBy(pid: number, port: number): number {
  const established = establishedAt(port);
  return socketsOf(pid).filter((inode) => established.has(inode)).length;
}

/** Bytes waiting unread in the connections to local `port` that process `pid` holds (e.g. a request sent to a stopped worker). */
export function unreadBytesHeldBy(pid: number, port: number): number {
  const established = establishedAt(port);
  return socketsOf(pid).reduce((sum, inode) => sum + (established.get(inode) ?? 0), 0);
}
