import { randomUUID } from "node:crypto";
import os from "node:os";

/** A worker's id in Redis (leases, reconcile markers): unique even for a respawn with a reused pid. */
export function newWorkerId(): string {
  return `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}
