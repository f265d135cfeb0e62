import type { StreamPosition } from "../../protocol/messages.js";
import { dropUntouched, headsOf, type ChannelRecord } from "./channel-records.js";

/**
 * The head each channel was at when this worker last told anyone of it: a publish of this worker
 * acknowledged there, or a subscriber joined or recovered up to it (a history read). Both can go
 * beyond what this worker's reader delivered, and a master that dies can take those writes with
 * it; after a failover these heads are checked beside the delivered ones, so such a loss mints a
 * new epoch instead of the new master handing out offsets someone already holds. Only the last
 * moments of writes can be lost, so entries are kept briefly.
 */
export class ToldHeads {
  private readonly heads = new Map<string, ChannelRecord>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Records a head told, unless the channel is already further in that epoch. */
  record(channel: string, head: StreamPosition): void {
    const known = this.heads.get(channel);
    if (known && known.epoch === head.epoch && known.offset >= head.offset) return;
    this.reset(channel, head);
  }

  /** Puts the channel at `head` (it was given a new epoch). */
  reset(channel: string, head: StreamPosition): void {
    const known = this.heads.get(channel);
    if (!known) {
      this.heads.set(channel, { epoch: head.epoch, offset: head.offset, touchedAt: this.now() });
      return;
    }
    // Updated in place: this runs for every channel of every acknowledged publish and history read.
    known.epoch = head.epoch;
    known.offset = head.offset;
    known.touchedAt = this.now();
  }

  entries(): Array<[string, StreamPosition]> {
    return headsOf(this.heads);
  }

  /** Forgets heads told longer ago than a failover could lose. */
  sweep(maxAgeMs: number): void {
    dropUntouched(this.heads, this.now() - maxAgeMs);
  }
}
