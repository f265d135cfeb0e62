import type { Message, StreamPosition } from "../../protocol/messages.js";
import { classify } from "../../protocol/position-rule.js";
import { dropUntouched, headsOf, type ChannelRecord } from "./channel-records.js";

interface Position extends ChannelRecord {
  /** Epochs this channel left behind: a re-read after a failover can still return their entries. */
  retired: string[];
  /** The fan-out entry IDs of the last offsets delivered ("" for one filled from history). */
  recent: Array<{ offset: number; entryId: string }>;
}

/** What to do with a message read from the fan-out. */
export type Verdict =
  | { kind: "deliver" }
  | { kind: "duplicate" }
  /**
   * An offset already delivered, carried by another fan-out entry: a master that lost the first
   * one gave its offset to a new message. The channel's history has diverged from what was delivered.
   */
  | { kind: "reused" }
  /** Offsets between `since` and the message are missing: fill them from history first. */
  | { kind: "gap"; since: StreamPosition };

const RETIRED_EPOCHS_KEPT = 4;
/** Reuse starts right above the new master's head and climbs, so it meets one of these soon. */
const RECENT_ENTRIES_KEPT = 4;

/**
 * The last offset this worker delivered on every channel it has seen. It turns the fan-out,
 * re-read after a master change from a point it may already have passed, into each channel's
 * messages exactly once and in order, and tells the broker which heads to check after a failover.
 */
export class DeliveredPositions {
  private readonly positions = new Map<string, Position>();

  constructor(private readonly now: () => number = Date.now) {}

  /** `entryId`: the fan-out entry that carried the message (a re-read carries the same one). */
  judge(message: Message, entryId = ""): Verdict {
    const position = this.positions.get(message.channel);
    if (!position) return { kind: "deliver" };
    if (position.retired.includes(message.epoch)) return { kind: "duplicate" };
    // A new epoch counts from its offset 0: only its first offset is next.
    const last = { epoch: message.epoch, offset: position.epoch === message.epoch ? position.offset : 0 };
    const step = classify(last, message);
    if (step === "duplicate") {
      const seen = position.recent.find((r) => r.offset === message.offset);
      return seen && seen.entryId !== "" && entryId !== "" && seen.entryId !== entryId ? { kind: "reused" } : { kind: "duplicate" };
    }
    return step === "next" ? { kind: "deliver" } : { kind: "gap", since: last };
  }

  /** Records a delivered message (one `judge` called deliverable, or one read from history). */
  advance(message: Message, entryId = ""): void {
    this.moveTo(message.channel, { epoch: message.epoch, offset: message.offset });
    const recent = this.positions.get(message.channel)!.recent;
    recent.push({ offset: message.offset, entryId });
    if (recent.length > RECENT_ENTRIES_KEPT) recent.shift();
  }

  /** Puts the channel at `head`, retiring its previous epoch when that changes. */
  moveTo(channel: string, head: StreamPosition): void {
    const position = this.positions.get(channel);
    if (!position) {
      this.positions.set(channel, { epoch: head.epoch, offset: head.offset, retired: [], recent: [], touchedAt: this.now() });
      return;
    }
    // Updated in place: this runs for every message a worker delivers.
    if (position.epoch !== head.epoch) {
      position.retired.unshift(position.epoch);
      position.retired.length = Math.min(position.retired.length, RETIRED_EPOCHS_KEPT);
      position.recent = [];
      position.epoch = head.epoch;
    }
    position.offset = head.offset;
    position.touchedAt = this.now();
  }

  /** True when the channel has moved on from `epoch` to another one. */
  left(channel: string, epoch: string): boolean {
    return this.positions.get(channel)?.retired.includes(epoch) ?? false;
  }

  entries(): Array<[string, StreamPosition]> {
    return headsOf(this.positions);
  }

  /** Forgets channels idle longer than any write a failover could lose or a re-read could return. */
  sweep(maxIdleMs: number): void {
    dropUntouched(this.positions, this.now() - maxIdleMs);
  }
}
