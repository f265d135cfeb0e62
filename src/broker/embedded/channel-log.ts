import { PusherError } from "../../protocol/errors.js";
import type { Message, PublishOffsets, StreamPosition } from "../../protocol/messages.js";
import { canRecover } from "../../protocol/position-rule.js";
import type { HistoryResult, PublishOutcome, PublishRequest } from "../broker.js";
import { dedupKey } from "../dedup-key.js";
import { mintEpoch } from "../epoch.js";
import { RingBuffer } from "./ring-buffer.js";

export interface ChannelLogOptions {
  historySize: number;
  historyTtlMs: number;
  /** An idle channel keeps its epoch and offset this long after its last message or subscribe. */
  metaTtlMs: number;
  dedupWindowMs: number;
  /** Channels with state (messages, or a head to keep) at most; a publish that needs one more is refused. */
  maxChannels: number;
  now?: () => number;
}

interface ChannelState {
  epoch: string;
  offset: number;
  history: RingBuffer<Message>;
  touchedAt: number;
}

/**
 * The embedded sequencer, held by the primary: each channel's offset counter, epoch and history,
 * and the idempotency window. Synchronous and single-threaded, so every publish is atomic.
 *
 * Only a publish creates channel state (anyone can subscribe to any name, so a subscribe must cost
 * the primary nothing). A channel without state is at offset 0 of `freshEpoch`, the epoch its
 * first message will take, so a subscriber told `{freshEpoch, 0}` gets offset 1 in that same
 * epoch without a resync. When a channel that had messages in `freshEpoch` is forgotten,
 * `freshEpoch` is replaced: offsets may only restart at 1 in an epoch no client saw them in
 * (docs/architecture.md, "Channel state").
 */
export class ChannelLog {
  private readonly channels = new Map<string, ChannelState>();
  private readonly seenIds = new Map<string, { offsets: PublishOffsets; expiresAt: number }>();
  private readonly now: () => number;
  private freshEpoch: string;

  constructor(private readonly options: ChannelLogOptions) {
    this.now = options.now ?? Date.now;
    this.freshEpoch = mintEpoch(this.now());
  }

  /** Sequences requests; returns their outcomes and the messages to fan out, in order. */
  publish(requests: PublishRequest[]): { outcomes: PublishOutcome[]; messages: Message[] } {
    const now = this.now();
    const outcomes: PublishOutcome[] = [];
    const messages: Message[] = [];
    for (const request of requests) {
      const key = request.id === undefined ? undefined : dedupKey({ ...request, id: request.id });
      const seen = key === undefined ? undefined : this.seenIds.get(key);
      if (seen && seen.expiresAt > now) {
        outcomes.push({ ok: true, offsets: seen.offsets });
        continue;
      }
      if (!this.hasRoomFor(request.channels, now)) {
        outcomes.push({ ok: false, error: new PusherError("too_many_channels", `this host holds ${this.options.maxChannels} channels with messages (limits.maxChannels)`) });
        continue;
      }
      const offsets: PublishOffsets = {};
      for (const channel of request.channels) {
        const state = this.channel(channel, now) ?? this.create(channel, now);
        state.offset += 1;
        const message: Message = { channel, event: request.event, data: request.data, epoch: state.epoch, offset: state.offset, ts: now, ...(request.id !== undefined ? { id: request.id } : {}) };
        state.history.push(message);
        offsets[channel] = { epoch: state.epoch, offset: state.offset };
        messages.push(message);
      }
      if (key !== undefined) this.seenIds.set(key, { offsets, expiresAt: now + this.options.dedupWindowMs });
      outcomes.push({ ok: true, offsets });
    }
    return { outcomes, messages };
  }

  /** The channel's head and, with `since`, what came after it (DESIGN §3 recovery rules). */
  history(channel: string, since?: StreamPosition): HistoryResult {
    const now = this.now();
    const state = this.channel(channel, now);
    const head = state ? { epoch: state.epoch, offset: state.offset } : { epoch: this.freshEpoch, offset: 0 };
    const messages = state && since?.epoch === state.epoch ? this.after(state, since.offset) : [];
    if (!canRecover(since, head, messages)) return { head, messages: [], recovered: false };
    return { head, messages, recovered: true };
  }

  /** The messages still held after `offset`, oldest first. */
  private after(state: ChannelState, offset: number): Message[] {
    const oldest = state.history.at(0);
    const firstKept = oldest ? oldest.offset : state.offset + 1;
    const messages: Message[] = [];
    for (let i = Math.max(0, offset + 1 - firstKept); i < state.history.length; i++) messages.push(state.history.at(i) as Message);
    return messages;
  }

  /** Drops expired history, idle channels and old publish ids; the primary calls it on a timer. */
  sweep(): void {
    const now = this.now();
    for (const [name, state] of this.channels) {
      this.expireHistory(state, now);
      if (this.isIdle(state, now)) this.forget(name, state);
    }
    for (const [id, seen] of this.seenIds) if (seen.expiresAt <= now) this.seenIds.delete(id);
  }

  get channelCount(): number {
    return this.channels.size;
  }

  /** The channel's live state, touched; undefined for a channel without any (never published, or forgotten). */
  private channel(name: string, now: number): ChannelState | undefined {
    const state = this.channels.get(name);
    if (!state) return undefined;
    this.expireHistory(state, now);
    if (this.isIdle(state, now)) {
      this.forget(name, state);
      return undefined;
    }
    state.touchedAt = now;
    return state;
  }

  private create(name: string, now: number): ChannelState {
    const state: ChannelState = { epoch: this.freshEpoch, offset: 0, history: new RingBuffer(this.options.historySize), touchedAt: now };
    this.channels.set(name, state);
    return state;
  }

  /** Whether the channels a request names fit: those without state would each need one. */
  private hasRoomFor(channels: string[], now: number): boolean {
    const room = this.options.maxChannels - this.channels.size;
    if (room >= channels.length) return true;
    let needed = 0;
    for (const channel of channels) if (!this.channel(channel, now)) needed++;
    return needed <= this.options.maxChannels - this.channels.size;
  }

  private isIdle(state: ChannelState, now: number): boolean {
    return state.history.length === 0 && now - state.touchedAt > this.options.metaTtlMs;
  }

  private forget(name: string, state: ChannelState): void {
    this.channels.delete(name);
    // Its subscribers may hold offsets of `freshEpoch`; the channel's next message must not restart at 1 there.
    if (state.epoch === this.freshEpoch) this.freshEpoch = mintEpoch(this.now());
  }

  private expireHistory(state: ChannelState, now: number): void {
    const cutoff = now - this.options.historyTtlMs;
    state.history.dropWhile((m) => m.ts < cutoff);
  }
}
