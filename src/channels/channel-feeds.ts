import type { HistoryResult } from "../broker/broker.js";
import { roomOf } from "../protocol/channels.js";
import type { ResyncNotice, ResyncReason } from "../protocol/events.js";
import type { Message, StreamPosition } from "../protocol/messages.js";
import { classify, isBefore } from "../protocol/position-rule.js";
import type { PusherServer, PusherSocket } from "../protocol/socket-types.js";
import { RoomWriter } from "./room-writer.js";

/** A socket between its subscribe request and its place in the channel's room. */
interface Joiner {
  socket: PusherSocket;
  /** Live messages that arrived while its history was being read. */
  buffer: Message[];
  /** The head its history was read at; set once the history has been replayed. */
  head?: StreamPosition;
}

interface Feed {
  /** The last message delivered to the room. */
  position?: StreamPosition;
  joiners: Map<string, Joiner>;
}

export type DeliveryObserver = (message: Message, socketsReached: number) => void;

/**
 * Delivers the broker's fan-out to this worker's sockets, one room per channel, and splices new
 * subscribers in without loss or duplicates: a joiner gets its history replay, then what arrived
 * meanwhile above the replayed head, and joins the room only once the room has caught up with
 * that head, so it never sees an offset twice.
 */
export class ChannelFeeds {
  private readonly feeds = new Map<string, Feed>();
  private readonly rooms: RoomWriter;

  constructor(
    private readonly io: PusherServer,
    private readonly observe: DeliveryObserver,
  ) {
    this.rooms = new RoomWriter(io);
  }

  get channelCount(): number {
    return this.feeds.size;
  }

  /** Delivers a batch; what it holds for one socket leaves in one write. */
  deliver(messages: Message[]): void {
    this.rooms.batch(messages.length > 1, () => {
      for (const message of messages) {
        const feed = this.feeds.get(message.channel);
        if (feed) this.deliverOne(feed, message);
      }
    });
  }

  /** The channel's history was lost: its room resyncs now and takes the next messages from `head`. */
  reset(channel: string, head: StreamPosition): void {
    const feed = this.feeds.get(channel);
    if (!feed) return;
    const notice: ResyncNotice = { channel, epoch: head.epoch, offset: head.offset, reason: "epoch_changed" };
    this.rooms.emit(roomOf(channel), "resync", notice);
    feed.position = head;
  }

  /** Starts buffering live messages for `socket`; call before reading the channel's history. */
  beginJoin(socket: PusherSocket, channel: string): void {
    let feed = this.feeds.get(channel);
    if (!feed) {
      feed = { joiners: new Map() };
      this.feeds.set(channel, feed);
    }
    feed.joiners.set(socket.id, { socket, buffer: [] });
  }

  /**
   * The head a new subscriber without `since` can be told without reading the broker: the last
   * position this worker's room of the channel has been fed (undefined while it has none). The
   * subscriber joins at it and takes every later message from the room, as the room's own members
   * do; a position the broker is already past only means those messages reach it from the room,
   * in order. Saves a broker round trip per subscribe to a channel this worker already serves
   * (with the embedded broker, an IPC message each way and the primary's work on it).
   */
  liveHead(channel: string): StreamPosition | undefined {
    return this.feeds.get(channel)?.position;
  }

  /** Replays `history` to the socket, then admits it to the room as soon as the room is at its head. */
  completeJoin(socket: PusherSocket, channel: string, history: HistoryResult): void {
    const feed = this.feeds.get(channel);
    const joiner = feed?.joiners.get(socket.id);
    if (!feed || !joiner) return; // unsubscribed or disconnected meanwhile
    for (const message of history.messages) socket.emit("message", message);
    joiner.head = history.head;
    feed.position ??= history.head;
    this.admitIfCaughtUp(channel, feed, joiner);
  }

  /** Removes the socket from the channel (room and joiners); forgets the feed when nobody is left. */
  leave(socket: PusherSocket, channel: string): void {
    const feed = this.feeds.get(channel);
    if (!feed) return;
    feed.joiners.delete(socket.id);
    void socket.leave(roomOf(channel));
    this.forgetIfUnused(channel, feed);
  }

  /** After a disconnect socket.io has already emptied the socket's rooms; drop joiners and empty feeds. */
  forgetSocket(socket: PusherSocket, channels: Iterable<string>): void {
    for (const channel of channels) this.leave(socket, channel);
  }

  private deliverOne(feed: Feed, message: Message): void {
    const step = classify(feed.position, message);
    if (step === "duplicate") return; // a re-read
    const room = roomOf(message.channel);
    if (step !== "next") this.rooms.emit(room, "resync", resyncNotice(step, message));
    feed.position = { epoch: message.epoch, offset: message.offset };
    this.observe(message, this.rooms.emit(room, "message", message));
    for (const joiner of feed.joiners.values()) {
      joiner.buffer.push(message);
      this.admitIfCaughtUp(message.channel, feed, joiner);
    }
  }

  private admitIfCaughtUp(channel: string, feed: Feed, joiner: Joiner): void {
    const head = joiner.head;
    if (!head || (feed.position && isBefore(feed.position, head))) return;
    let last = head;
    for (const message of joiner.buffer) {
      const step = classify(last, message);
      if (step === "duplicate") continue;
      if (step !== "next") joiner.socket.emit("resync", resyncNotice(step, message));
      joiner.socket.emit("message", message);
      last = message;
    }
    feed.joiners.delete(joiner.socket.id);
    void joiner.socket.join(roomOf(channel));
  }

  private forgetIfUnused(channel: string, feed: Feed): void {
    if (feed.joiners.size === 0 && !this.io.of("/").adapter.rooms.has(roomOf(channel))) this.feeds.delete(channel);
  }
}

function resyncNotice(reason: ResyncReason, next: Message): ResyncNotice {
  return { channel: next.channel, epoch: next.epoch, offset: next.offset - 1, reason };
}
