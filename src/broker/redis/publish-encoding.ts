import type { PublishOffsets } from "../../protocol/messages.js";
import type { PublishRequest } from "../broker.js";
import { dedupKey } from "../dedup-key.js";
import { mintEpoch } from "../epoch.js";
import { mintMessageId } from "../message-id.js";

export interface PublishSettings {
  keyPrefix: string;
  historySize: number;
  historyTtlMs: number;
  metaTtlMs: number;
  dedupWindowMs: number;
  fanoutMaxLength: number;
  /** publish.timeoutMs: internal ids must outlive a publish's own retries. */
  timeoutMs: number;
}

/** Internal publish ids only need to outlive a publish's own retries. */
const INTERNAL_ID_TTL_FLOOR_MS = 60_000;

/** The PUBLISH script's ARGV for a batch (layout in scripts.ts). */
export function publishArgs(requests: PublishRequest[], settings: PublishSettings): (string | number)[] {
  const { keyPrefix, historySize, historyTtlMs, metaTtlMs, dedupWindowMs, fanoutMaxLength, timeoutMs } = settings;
  const internalTtl = Math.max(INTERNAL_ID_TTL_FLOOR_MS, 2 * timeoutMs);
  const args: (string | number)[] = [keyPrefix, historySize, historyTtlMs, metaTtlMs, mintEpoch(), fanoutMaxLength, requests.length];
  for (const request of requests) {
    // Every publish carries an id, so a script that ran on a master that died before answering
    // is not run twice when it is retried on the next one; and if that master's writes are lost
    // with it, the copy written again carries the same message id for clients to drop.
    const messageId = request.id ?? mintMessageId();
    const idKey = request.id === undefined ? `${keyPrefix}id:i:${messageId}` : `${keyPrefix}id:u:${dedupKey({ ...request, id: request.id })}`;
    args.push(idKey, request.id === undefined ? internalTtl : dedupWindowMs, messageId, request.event, JSON.stringify(request.data ?? null), request.channels.length, ...request.channels);
  }
  return args;
}

/** One PUBLISH reply entry: `{ <channel>: [epoch, offset] }` as JSON. */
export function parseOffsets(reply: string): PublishOffsets {
  const parsed = JSON.parse(reply) as Record<string, [string, number]>;
  const offsets: PublishOffsets = {};
  for (const [channel, [epoch, offset]] of Object.entries(parsed)) offsets[channel] = { epoch, offset };
  return offsets;
}
