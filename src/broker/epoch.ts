import { randomBytes } from "node:crypto";

/**
 * A new epoch name: the time in base 36 (so operators can tell from a log which history is newer)
 * and 4 random base-36 characters, so two hosts or a restarted one never mint the same epoch.
 * Short on purpose: every delivered frame carries it.
 */
export function mintEpoch(now = Date.now()): string {
  return now.toString(36) + (randomBytes(4).readUInt32BE(0) % 36 ** 4).toString(36).padStart(4, "0");
}
