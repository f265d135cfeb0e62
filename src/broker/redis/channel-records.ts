import type { StreamPosition } from "../../protocol/messages.js";

/** A per-channel record kept by a worker (what it delivered, what it was acknowledged at). */
export interface ChannelRecord extends StreamPosition {
  touchedAt: number;
}

/** Each channel's head, copied out of records that carry more than the head. */
export function headsOf(records: ReadonlyMap<string, ChannelRecord>): Array<[string, StreamPosition]> {
  return [...records].map(([channel, { epoch, offset }]) => [channel, { epoch, offset }]);
}

/** Drops the records last touched before `cutoff`: what keeps per-channel maps bounded. */
export function dropUntouched(records: Map<string, ChannelRecord>, cutoff: number): void {
  for (const [channel, record] of records) if (record.touchedAt < cutoff) records.delete(channel);
}
