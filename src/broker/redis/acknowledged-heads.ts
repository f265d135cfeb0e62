import type { StreamPosition } from "../../protocol/messages.js";
import { dropUntouched, headsOf, type ChannelRecord } from "./channel-records.js";

/**
 * The head each channel was at when a publish of this worker was last acknowledged. A master that
 * dies can take acknowledged writes with it before any reader saw them; after a failover these
 * heads are checked beside the delivered ones, so such a loss mints a new epoch instead of
 * vanishing. Only the last moments of writes can be lost, so entries are kept briefly.
 */
export class AcknowledgedHeads {
  private readonly heads = new Map<string, ChannelRecord>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Records an acknowledged head, unless the channel is already further in that epoch. */
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
    // Updated in place: this runs for every channel of every acknowledged publish.
    known.epoch = head.epoch;
    known.offset = head.offset;
    known.touchedAt = this.now();
  }

  entries(): Array<[string, StreamPosition]> {
    return headsOf(this.heads);
  }

  /** Forgets heads acknowledged longer ago than a failover could lose. */
  sweep(maxAgeMs: number): void {
    dropUntouched(this.heads, this.now() - maxAgeMs);
  }
}
