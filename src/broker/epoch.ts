import { randomBytes } from "node:crypto";

/**
 * A new epoch name. Time-prefixed so operators can tell from a log which history is newer; the
 * random part keeps two hosts (or a restarted one) from ever minting the same epoch.
 */
export function mintEpoch(now = Date.now()): string {
  return `${now.toString(36)}-${randomBytes(4).toString("hex")}`;
}
