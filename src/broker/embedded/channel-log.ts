import type { Message, PublishOffsets, StreamPosition } from "../../protocol/messages.js";
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
 */
export class ChannelLog {
  private readonly channels = new Map<string, ChannelState>();
  private readonly seenIds = new Map<string, { offsets: PublishOffsets; expiresAt: number }>();
  private readonly now: () => number;

  constructor(private readonly options: ChannelLogOptions) {
    this.now = options.now ?? Date.now;
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
      const offsets: PublishOffsets = {};
      for (const channel of request.channels) {
        const state = this.channel(channel, now);
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
    this.expireHistory(state, now);
    const head = { epoch: state.epoch, offset: state.offset };
    if (!since) return { head, messages: [], recovered: true };
    if (since.epoch !== state.epoch || since.offset > state.offset) return { head, messages: [], recovered: false };
    const oldest = state.history.at(0);
    const firstKept = oldest ? oldest.offset : state.offset + 1;
    if (since.offset + 1 < firstKept) return { head, messages: [], recovered: false };
    const messages: Message[] = [];
    for (let offset = since.offset + 1; offset <= state.offset; offset++) {
      messages.push(state.history.at(offset - firstKept) as Message);
    }
    return { head, messages, recovered: true };
  }

  /** Drops expired history, idle channels and old publish ids; the primary calls it on a timer. */
  sweep(): void {
    const now = this.now();
    for (const [name, state] of this.channels) {
      this.expireHistory(state, now);
      if (state.history.length === 0 && now - state.touchedAt > this.options.metaTtlMs) this.channels.delete(name);
    }
    for (const [id, seen] of this.seenIds) if (seen.expiresAt <= now) this.seenIds.delete(id);
  }

  get channelCount(): number {
    return this.channels.size;
  }

  private channel(name: string, now: number): ChannelState {
    let state = this.channels.get(name);
    if (state && state.history.length === 0 && now - state.touchedAt > this.options.metaTtlMs) {
      // Offsets restart at 1 only in a new epoch, or a returning subscriber would take new messages for old ones.
      this.channels.delete(name);
      state = undefined;
    }
    if (!state) {
      state = { epoch: mintEpoch(now), offset: 0, history: new RingBuffer(this.options.historySize), touchedAt: now };
      this.channels.set(name, state);
    }
    state.touchedAt = now;
    return state;
  }

  private expireHistory(state: ChannelState, now: number): void {
    const cutoff = now - this.options.historyTtlMs;
    state.history.dropWhile((m) => m.ts < cutoff);
  }
}
