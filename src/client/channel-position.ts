import type { ResyncReason, SubscribeAck } from "../protocol/events.js";
import type { Message, StreamPosition } from "../protocol/messages.js";
import { classify } from "../protocol/position-rule.js";

/** A break in a channel's stream, found by the tracker: the position it jumped from and why. */
export interface PositionJump {
  reason: ResyncReason;
  /** The position held before the jump (undefined if none was held yet). */
  previous: StreamPosition | undefined;
}

/** What to do with a delivered message. */
export type MessageVerdict =
  | { deliver: true; jump?: undefined }
  | { deliver: true; jump: PositionJump }
  | { deliver: false };

type OkAck = Extract<SubscribeAck, { ok: true }>;

/**
 * The position of one channel's stream as this client holds it: the `{epoch, offset}` of the last
 * message handed to the application. It is the single source of the `since` sent on resubscribe,
 * and it decides, message by message, between "deliver", "duplicate" (drop) and "gap" (deliver,
 * but tell the application). Pure: no sockets, no timers, so it can be tested alone.
 */
export class ChannelPosition {
  #current: StreamPosition | undefined;

  constructor(initial?: StreamPosition) {
    this.#current = initial ? { epoch: initial.epoch, offset: initial.offset } : undefined;
  }

  /** The last position handed to the application, or undefined before the first ack. */
  get current(): StreamPosition | undefined {
    // A copy: callers keep it as a bookmark, and it must not move under them.
    return this.#current ? { ...this.#current } : undefined;
  }

  /** Moves to `position` unconditionally (a server `resync`, or a head that replaces lost history). */
  jumpTo(position: StreamPosition): void {
    this.#current = { epoch: position.epoch, offset: position.offset };
  }

  /**
   * Classifies a message and advances past it unless it is a duplicate. Offsets grow by exactly 1
   * per channel, so anything at or below the position in the same epoch was already delivered
   * (replays after a reconnect overlap what arrived live), and anything beyond position + 1, or in
   * another epoch, means messages were skipped: the application is told, then still given it.
   */
  accept(message: Pick<Message, "epoch" | "offset">): MessageVerdict {
    const previous = this.#current;
    const step = classify(previous, message);
    if (step === "duplicate") return { deliver: false };
    this.jumpTo(message);
    // With no position yet (only if a server sends before acking) there is nothing to compare with.
    if (step === "next" || previous === undefined) return { deliver: true };
    // An epoch change the server did not announce with `resync` before the message: history was
    // lost somewhere the client cannot name, so it is reported as what the application sees, a gap.
    return { deliver: true, jump: { reason: "gap", previous } };
  }

  /**
   * Applies a successful subscribe ack. `since` is what the request carried. The server sends the
   * ack first and then the replay, so after a recovered ack the position must stay where it is and
   * let the replayed messages advance it; moving it to the head would drop the replay as
   * duplicates. Returns a jump when the application must be told it missed messages.
   */
  applyAck(ack: OkAck, since: StreamPosition | undefined): PositionJump | undefined {
    const head: StreamPosition = { epoch: ack.epoch, offset: ack.offset };
    if (since === undefined) {
      // A fresh subscription starts at the head: everything after it will be delivered. Never
      // backwards within an epoch: a message already delivered must not be delivered again.
      const current = this.#current;
      if (current === undefined || current.epoch !== head.epoch || current.offset < head.offset) this.jumpTo(head);
      return undefined;
    }
    const previous = this.#current ?? since;
    if (ack.recovered === false || ack.epoch !== since.epoch) {
      this.jumpTo(head);
      return { reason: ack.epoch !== since.epoch ? "epoch_changed" : "gap", previous };
    }
    if (ack.offset < since.offset) {
      // The head went below what we already hold in the same epoch (writes lost in a failover
      // without a new epoch): later messages would reuse offsets we would drop as duplicates,
      // silently. Restart from the head and say so.
      this.jumpTo(head);
      return { reason: "gap", previous };
    }
    return undefined;
  }
}
