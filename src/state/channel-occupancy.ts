import { PusherError } from "../protocol/errors.js";
import { allowsClientEvents, isPresenceChannel, type Member, type PresenceUser } from "../protocol/presence.js";
import { addUser, type PusherServer, type PusherSocket } from "../protocol/socket-types.js";
import type { Logger } from "../ops/logger.js";
import type { ChannelStateBackend, Contribution, StateSignal } from "./backend.js";

interface Subscriber {
  socket: PusherSocket;
  user?: string;
  /** Signals that arrived before the subscribe ack went out; undefined once admitted. */
  buffer?: StateSignal[];
}

interface LocalChannel {
  subscribers: Map<string, Subscriber>;
  users: Map<string, { connections: number; info: string }>;
}

export interface ChannelOccupancyOptions {
  io: PusherServer;
  backend: ChannelStateBackend;
  /** limits.maxPresenceMembers (0 = no limit). */
  maxMembers: number;
  /** Count changes that do not occupy or vacate anything are sent at most this often (presence.countSyncMs). */
  countSyncMs: number;
  logger: Logger;
}

/** The room of a private or presence channel's admitted subscribers: member changes and client events go there. */
export function stateRoomOf(channel: string): string {
  return `st:${channel}`;
}

/**
 * This worker's share of every channel's state: subscribers per channel and presence users with
 * their connection counts, stated to the backend (which combines all workers) as exact counts.
 * A change that can occupy or vacate a channel, or add or remove a member, is sent at once; a
 * count change that cannot is sent within countSyncMs. It also delivers what the backend signals
 * (member changes, client events, user disconnects) to this worker's sockets.
 */
export class ChannelOccupancy {
  private readonly channels = new Map<string, LocalChannel>();
  /** Entry keys (see keyOf) whose counts changed since the last count sync. */
  private readonly dirty = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: ChannelOccupancyOptions) {
    const { backend } = options;
    backend.onSignal((signal) => this.deliver(signal));
    backend.onReassert(() => this.snapshot());
    this.timer = setInterval(() => this.syncCounts(), Math.max(10, options.countSyncMs));
    this.timer.unref();
  }

  /**
   * Counts the socket in; on a presence channel adds its user and answers the members (the user
   * included). Signals for the channel are held for the socket until `admit`. Throws
   * `presence_full` when the channel holds limits.maxPresenceMembers other members.
   */
  async join(socket: PusherSocket, channel: string, user?: PresenceUser): Promise<Member[] | undefined> {
    const local = this.local(channel);
    local.subscribers.set(socket.id, { socket, ...(user ? { user: user.id } : {}), buffer: [] });
    const subscribers = local.subscribers.size;
    if (!user) {
      if (subscribers === 1) this.send([{ k: "s", channel, count: 1 }]);
      else this.dirty.add(keyOf(channel));
      return undefined;
    }
    addUser(socket, user.id);
    const state = local.users.get(user.id) ?? { connections: 0, info: user.info };
    state.connections++;
    local.users.set(user.id, state);
    const entries: Contribution[] = [
      { k: "s", channel, count: subscribers },
      { k: "m", channel, user: user.id, info: state.info, count: state.connections },
    ];
    let outcome;
    try {
      outcome = await this.options.backend.join(entries, channel, user.id, this.options.maxMembers);
    } catch (err) {
      this.leave(socket, channel);
      throw err;
    }
    if (!outcome.ok) {
      this.leave(socket, channel);
      throw new PusherError("presence_full");
    }
    return outcome.members;
  }

  /** The subscribe ack went out: held signals follow it, then the socket takes them live. */
  admit(socket: PusherSocket, channel: string): void {
    const subscriber = this.channels.get(channel)?.subscribers.get(socket.id);
    if (!subscriber?.buffer) return;
    const held = subscriber.buffer;
    delete subscriber.buffer;
    for (const signal of held) this.emitTo(socket, signal);
    if (allowsClientEvents(channel)) void socket.join(stateRoomOf(channel));
  }

  /** Counts the socket out (unsubscribe, disconnect, or a join that failed). */
  leave(socket: PusherSocket, channel: string): void {
    const local = this.channels.get(channel);
    const subscriber = local?.subscribers.get(socket.id);
    if (!local || !subscriber) return;
    local.subscribers.delete(socket.id);
    void socket.leave(stateRoomOf(channel));
    const entries: Contribution[] = [];
    if (subscriber.user !== undefined) {
      const state = local.users.get(subscriber.user);
      if (state && --state.connections <= 0) {
        local.users.delete(subscriber.user);
        entries.push({ k: "m", channel, user: subscriber.user, info: "", count: 0 });
      } else this.dirty.add(keyOf(channel, subscriber.user));
    }
    if (local.subscribers.size === 0) {
      entries.push({ k: "s", channel, count: 0 });
      this.channels.delete(channel);
    } else this.dirty.add(keyOf(channel));
    if (entries.length > 0) this.send(entries);
  }

  /** A presence channel's members (across hosts); undefined for other channels. */
  async membersOf(channel: string): Promise<Member[] | undefined> {
    return isPresenceChannel(channel) ? this.options.backend.members(channel) : undefined;
  }

  /** The presence user id a socket subscribed to `channel` with, if any. */
  userOf(socket: PusherSocket, channel: string): string | undefined {
    return this.channels.get(channel)?.subscribers.get(socket.id)?.user;
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Every contribution of this worker: subscribers first, so a channel is occupied before its members join. */
  private snapshot(): Contribution[] {
    const entries: Contribution[] = [];
    for (const [channel, local] of this.channels) {
      entries.push({ k: "s", channel, count: local.subscribers.size });
      for (const [user, state] of local.users) entries.push({ k: "m", channel, user, info: state.info, count: state.connections });
    }
    this.dirty.clear();
    return entries;
  }

  private syncCounts(): void {
    if (this.dirty.size === 0) return;
    const entries: Contribution[] = [];
    for (const key of this.dirty) {
      const cut = key.indexOf("\n");
      const channel = cut < 0 ? key : key.slice(0, cut);
      const user = cut < 0 ? undefined : key.slice(cut + 1);
      const local = this.channels.get(channel);
      if (user === undefined) entries.push({ k: "s", channel, count: local?.subscribers.size ?? 0 });
      else {
        const state = local?.users.get(user);
        entries.push({ k: "m", channel, user, info: state?.info ?? "", count: state?.connections ?? 0 });
      }
    }
    this.dirty.clear();
    this.send(entries);
  }

  private send(entries: Contribution[]): void {
    this.options.backend.sync(entries).catch((err: unknown) => {
      // The backend re-asserts the whole state once it is reachable again.
      this.options.logger.debug({ err: (err as Error).message }, "channel state change not sent");
    });
  }

  private deliver(signal: StateSignal): void {
    const { io } = this.options;
    switch (signal.t) {
      case "member_added":
      case "member_removed": {
        for (const subscriber of this.channels.get(signal.channel)?.subscribers.values() ?? []) subscriber.buffer?.push(signal);
        io.local.to(stateRoomOf(signal.channel)).emit(signal.t, { channel: signal.channel, member: signal.member });
        return;
      }
      case "client_event":
        for (const subscriber of this.channels.get(signal.event.channel)?.subscribers.values() ?? []) {
          if (subscriber.socket.id !== signal.from) subscriber.buffer?.push(signal);
        }
        io.local.to(stateRoomOf(signal.event.channel)).except(signal.from).emit("client_event", signal.event);
        return;
      case "disconnect_user":
        for (const socket of io.of("/").sockets.values()) if (socket.data.users?.has(signal.user)) socket.disconnect(true);
        return;
    }
  }

  private emitTo(socket: PusherSocket, signal: StateSignal): void {
    if (signal.t === "client_event") socket.emit("client_event", signal.event);
    else if (signal.t !== "disconnect_user") socket.emit(signal.t, { channel: signal.channel, member: signal.member });
  }

  private local(channel: string): LocalChannel {
    let local = this.channels.get(channel);
    if (!local) {
      local = { subscribers: new Map(), users: new Map() };
      this.channels.set(channel, local);
    }
    return local;
  }
}

function keyOf(channel: string, user?: string): string {
  return user === undefined ? channel : `${channel}\n${user}`;
}
