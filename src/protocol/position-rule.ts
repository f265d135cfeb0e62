import type { ResyncReason } from "./events.js";
import type { StreamPosition } from "./messages.js";

/**
 * The one rule every holder of a channel position follows (the server's feeds, the Redis fan-out
 * reader, both brokers' recovery, the client helper). Offsets grow by exactly 1 per channel
 * within an epoch, so a message is either the next one, one already held, or proof that some
 * were skipped. Pure and dependency-free: the browser bundle imports it too.
 */

/** What `next` is to a holder at `last`: "next" (deliver), "duplicate" (drop), or why to resync. */
export type Step = "next" | "duplicate" | ResyncReason;

/** Classifies `next` against the last position held; with none held yet, anything is next. */
export function classify(last: StreamPosition | undefined, next: StreamPosition): Step {
  if (last === undefined) return "next";
  if (next.epoch !== last.epoch) return "epoch_changed";
  if (next.offset <= last.offset) return "duplicate";
  return next.offset === last.offset + 1 ? "next" : "gap";
}

/** Whether `a` is strictly before `b` in the same epoch (positions of two epochs are not ordered). */
export function isBefore(a: StreamPosition, b: StreamPosition): boolean {
  return a.epoch === b.epoch && a.offset < b.offset;
}

/**
 * Whether a subscriber at `since` can be given a gap-free stream up to `head` by `replay`, the
 * messages after `since` still held, oldest first: same epoch, not past the head, and the replay
 * is exactly `since + 1 … head`. No `since` (a fresh subscription) is always recovered.
 */
export function canRecover(since: StreamPosition | undefined, head: StreamPosition, replay: ReadonlyArray<{ offset: number }>): boolean {
  if (since === undefined) return true;
  if (since.epoch !== head.epoch || since.offset > head.offset) return false;
  if (replay.length !== head.offset - since.offset) return false;
  return replay.every((message, i) => message.offset === since.offset + 1 + i);
}
