/**
 * Whether a subscriber was told of a message it missed: the judgement between "lost, but told"
 * (a resync covered it) and "lost silently", which is what the fault bench's target is about.
 */
import type { StreamPosition } from "../../src/protocol/messages.js";

/** A jump the application was told of (a resync): everything after `previous` up to `to` was missed. */
export interface ToldGap {
  previous: StreamPosition | undefined;
  to: StreamPosition;
}

/**
 * True if the jump covers `at`: it starts before it (from an earlier offset of its epoch, from
 * another epoch, or from nothing held) and ends at or after it (or in another epoch).
 */
export function covers(gap: ToldGap, at: StreamPosition): boolean {
  const startsBefore = gap.previous === undefined || gap.previous.epoch !== at.epoch || gap.previous.offset < at.offset;
  const endsAfter = gap.to.epoch !== at.epoch || gap.to.offset >= at.offset;
  return startsBefore && endsAfter;
}

/** Told of a missed message: a jump covering its position; where the position is unknown, any jump. */
export function wasTold(gaps: ToldGap[], at: StreamPosition | undefined): boolean {
  return at === undefined ? gaps.length > 0 : gaps.some((gap) => covers(gap, at));
}
