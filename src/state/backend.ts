import type { ClientEvent, Member } from "../protocol/presence.js";

/**
 * The seam between a worker's channel state (ChannelOccupancy) and where the state of every
 * worker is combined: Redis (RedisChannelState) or the primary (EmbeddedChannelState → StateHub).
 * A worker only ever states its own exact contribution; the combining side decides, once for all
 * hosts, when a channel becomes occupied or vacated and when a member is added or removed, and
 * records the webhook event in the same step.
 */

/**
 * This worker's exact contribution to a channel: its subscriber count (`s`), or one presence
 * user's connection count here and info as JSON text (`m`). Setting, not adding, makes every
 * statement idempotent: repeating the whole set after a failover changes nothing that survived.
 */
export type Contribution =
  | { k: "s"; channel: string; count: number }
  | { k: "m"; channel: string; user: string; info: string; count: number };

/** What travels to every worker on every host: member changes, client events, user disconnects. */
export type StateSignal =
  | { t: "member_added" | "member_removed"; channel: string; member: Member }
  /** `from` is the sending socket's id: it does not get its own event back. */
  | { t: "client_event"; event: ClientEvent; from: string }
  | { t: "disconnect_user"; user: string };

export type JoinOutcome = { ok: true; members: Member[] } | { ok: false };

export interface ChannelSummary {
  channel: string;
  subscribers: number;
}

export interface ChannelStateBackend {
  /** Applies this worker's contributions, in order. */
  sync(entries: Contribution[]): Promise<void>;
  /**
   * Adds a presence connection (its `m` and `s` entries) unless it would make the channel hold
   * more than `maxMembers` members (0 = no limit); answers the members after it, in one step.
   */
  join(entries: Contribution[], channel: string, user: string, maxMembers: number): Promise<JoinOutcome>;
  /** Sends a signal to every worker on every host, this one included. */
  broadcast(signal: StateSignal): Promise<void>;
  onSignal(handler: (signal: StateSignal) => void): void;
  /** The backend asks for this worker's whole contribution again (after a reconnect, or a lapsed lease). */
  onReassert(snapshot: () => Contribution[]): void;
  /** Occupied channels whose name starts with `prefix`, at most `limit`. */
  channels(prefix: string, limit: number): Promise<ChannelSummary[]>;
  channel(channel: string): Promise<{ subscribers: number; members: number }>;
  members(channel: string): Promise<Member[]>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Members from user id → info JSON text pairs (an empty text is a member without info). */
export function membersFrom(pairs: Iterable<[string, string]>): Member[] {
  const members: Member[] = [];
  for (const [id, info] of pairs) members.push(info === "" ? { id } : { id, info: JSON.parse(info) as unknown });
  return members;
}
