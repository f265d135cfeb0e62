import type { WebhookEvent, WebhookEventName } from "../../webhooks/webhook-events.js";
import { membersFrom, type ChannelSummary, type Contribution, type JoinOutcome, type StateSignal } from "../backend.js";
import type { Member } from "../../protocol/presence.js";

interface ChannelRecord {
  /** Subscribers per worker. */
  subscribers: Map<number, number>;
  total: number;
  /** Presence: user → connections per worker, total, and the info of the first connection. */
  users: Map<string, { perWorker: Map<number, number>; total: number; info: string }>;
}

export interface StateTableObserver {
  /** Member changes to send to every worker. */
  signal(signal: StateSignal): void;
  /** Webhook events, in the order decided. */
  webhook(events: WebhookEvent[]): void;
}

/**
 * Embedded mode's combined channel state, held by the primary: the same rules as the Redis
 * scripts (src/state/redis/state-scripts.ts), over workers of one host. A worker's death drops
 * its contributions at once (dropWorker).
 */
export class StateTable {
  private readonly channelsByName = new Map<string, ChannelRecord>();
  /** Channels each worker contributes to, so its death is undone without a scan. */
  private readonly byWorker = new Map<number, Set<string>>();

  constructor(private readonly observer: StateTableObserver) {}

  apply(worker: number, entries: readonly Contribution[]): void {
    const events: WebhookEvent[] = [];
    for (const entry of entries) {
      if (entry.k === "s") this.setSubscribers(worker, entry.channel, entry.count, events);
      else this.setMember(worker, entry.channel, entry.user, entry.info, entry.count, events);
    }
    if (events.length > 0) this.observer.webhook(events);
  }

  join(worker: number, entries: readonly Contribution[], channel: string, user: string, maxMembers: number): JoinOutcome {
    const users = this.channelsByName.get(channel)?.users;
    if (maxMembers > 0 && !users?.has(user) && (users?.size ?? 0) >= maxMembers) return { ok: false };
    this.apply(worker, entries);
    return { ok: true, members: this.members(channel) };
  }

  dropWorker(worker: number): void {
    const channels = this.byWorker.get(worker);
    if (!channels) return;
    const entries: Contribution[] = [];
    for (const channel of channels) {
      const record = this.channelsByName.get(channel);
      for (const [user, state] of record?.users ?? []) if (state.perWorker.has(worker)) entries.push({ k: "m", channel, user, info: "", count: 0 });
      entries.push({ k: "s", channel, count: 0 });
    }
    this.apply(worker, entries);
    this.byWorker.delete(worker);
  }

  channels(prefix: string, limit: number): ChannelSummary[] {
    const found: ChannelSummary[] = [];
    for (const [channel, record] of this.channelsByName) {
      if (found.length >= limit) break;
      if (record.total > 0 && channel.startsWith(prefix)) found.push({ channel, subscribers: record.total });
    }
    return found;
  }

  channel(channel: string): { subscribers: number; members: number } {
    const record = this.channelsByName.get(channel);
    return { subscribers: record?.total ?? 0, members: record?.users.size ?? 0 };
  }

  members(channel: string): Member[] {
    const users = this.channelsByName.get(channel)?.users ?? new Map();
    return membersFrom([...users].map(([id, state]) => [id, state.info] as [string, string]));
  }

  private record(channel: string): ChannelRecord {
    let record = this.channelsByName.get(channel);
    if (!record) {
      record = { subscribers: new Map(), total: 0, users: new Map() };
      this.channelsByName.set(channel, record);
    }
    return record;
  }

  private setSubscribers(worker: number, channel: string, count: number, events: WebhookEvent[]): void {
    const record = this.record(channel);
    const old = record.subscribers.get(worker) ?? 0;
    if (count === old) return this.forgetIfEmpty(channel, record);
    const before = record.total;
    record.total += count - old;
    if (count > 0) {
      record.subscribers.set(worker, count);
      this.worker(worker).add(channel);
    } else {
      record.subscribers.delete(worker);
      this.byWorker.get(worker)?.delete(channel);
    }
    if (before <= 0 && record.total > 0) events.push(event("channel_occupied", channel));
    if (before > 0 && record.total <= 0) events.push(event("channel_vacated", channel));
    this.forgetIfEmpty(channel, record);
  }

  private setMember(worker: number, channel: string, user: string, info: string, count: number, events: WebhookEvent[]): void {
    const record = this.record(channel);
    let state = record.users.get(user);
    const old = state?.perWorker.get(worker) ?? 0;
    if (count === old) return this.forgetIfEmpty(channel, record);
    if (!state) {
      state = { perWorker: new Map(), total: 0, info };
      record.users.set(user, state);
    }
    const before = state.total;
    state.total += count - old;
    if (count > 0) {
      state.perWorker.set(worker, count);
      this.worker(worker).add(channel);
    } else state.perWorker.delete(worker);
    if (state.total <= 0) {
      record.users.delete(user);
      if (before > 0) this.memberChanged("member_removed", channel, user, state.info, events);
    } else if (before <= 0) this.memberChanged("member_added", channel, user, state.info, events);
    this.forgetIfEmpty(channel, record);
  }

  private memberChanged(name: "member_added" | "member_removed", channel: string, user: string, info: string, events: WebhookEvent[]): void {
    events.push(event(name, channel, user));
    const [member] = membersFrom([[user, info]]);
    this.observer.signal({ t: name, channel, member: member! });
  }

  private worker(worker: number): Set<string> {
    let channels = this.byWorker.get(worker);
    if (!channels) {
      channels = new Set();
      this.byWorker.set(worker, channels);
    }
    return channels;
  }

  private forgetIfEmpty(channel: string, record: ChannelRecord): void {
    if (record.total <= 0 && record.users.size === 0) this.channelsByName.delete(channel);
  }
}

function event(name: WebhookEventName, channel: string, user?: string): WebhookEvent {
  return { name, channel, ...(user !== undefined ? { user_id: user } : {}), time_ms: Date.now() };
}
