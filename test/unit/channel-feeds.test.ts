import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import test, { type TestContext } from "node:test";
import { Server } from "socket.io";
import { ChannelFeeds } from "../../src/channels/channel-feeds.js";
import { roomOf } from "../../src/protocol/channels.js";
import type { ResyncNotice } from "../../src/protocol/events.js";
import type { Message, StreamPosition } from "../../src/protocol/messages.js";
import type { PusherServer, PusherSocket } from "../../src/protocol/socket-types.js";
import { connectSocket, type TestSocket } from "../helpers/clients.js";
import { MessageCollector } from "../helpers/message-collector.js";

/**
 * ChannelFeeds against a real socket.io server and real clients: what each client receives, in
 * order, when joins are spliced into the live stream.
 */

const EPOCH = "e1";
const CHANNEL = "feed";

const message = (offset: number, epoch = EPOCH): Message => ({ channel: CHANNEL, event: "e", data: offset, epoch, offset, ts: 0 });
const messages = (...offsets: number[]): Message[] => offsets.map((o) => message(o));
const head = (offset: number, epoch = EPOCH): StreamPosition => ({ epoch, offset });

interface Subscriber {
  socket: PusherSocket;
  client: TestSocket;
  received: MessageCollector;
  /** Everything the client was sent, in order: "3" for a message at offset 3, "resync 3 gap" for a notice. */
  events: string[];
}

async function feedsOnServer(t: TestContext) {
  const http = createServer();
  const io: PusherServer = new Server(http);
  http.listen(0, "127.0.0.1");
  await once(http, "listening");
  t.after(() => io.close());
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const reached: [offset: number, sockets: number][] = [];
  const feeds = new ChannelFeeds(io, (m, sockets) => reached.push([m.offset, sockets]));

  const subscriber = async (transports: string[] = ["websocket"]): Promise<Subscriber> => {
    const client = await connectSocket(t, url, { transports });
    const received = new MessageCollector();
    const events: string[] = [];
    client.on("message", (m) => {
      events.push(String(m.offset));
      received.add(m);
    });
    client.on("resync", (n: ResyncNotice) => events.push(`resync ${n.offset} ${n.reason}`));
    const socket = io.of("/").sockets.get(client.id!);
    assert.ok(socket, "the server holds the client's socket");
    return { socket, client, received, events };
  };
  /** A subscriber already in the room, at `position`. */
  const member = async (position: StreamPosition, transports?: string[]): Promise<Subscriber> => {
    const s = await subscriber(transports);
    feeds.beginJoin(s.socket, CHANNEL);
    feeds.completeJoin(s.socket, CHANNEL, { head: position, messages: [], recovered: true });
    return s;
  };
  return { io, feeds, reached, subscriber, member };
}

test("messages published while a joiner's history is read follow its replay, none twice, then live ones", async (t) => {
  const { feeds, subscriber } = await feedsOnServer(t);
  const s = await subscriber();
  feeds.beginJoin(s.socket, CHANNEL);
  // The fan-out delivers 2 (already in the history being read) and 3 (not in it) meanwhile.
  feeds.deliver(messages(2, 3));
  feeds.completeJoin(s.socket, CHANNEL, { head: head(2), messages: messages(1, 2), recovered: true });
  feeds.deliver(messages(4));
  await s.received.waitFor(4);
  assert.deepEqual(s.events, ["1", "2", "3", "4"]);
});

test("a joiner whose history is ahead of the room waits for the room, then gets each offset once", async (t) => {
  const { feeds, member, subscriber } = await feedsOnServer(t);
  const a = await member(head(5));
  const b = await subscriber();
  feeds.beginJoin(b.socket, CHANNEL);
  // B's history read already saw offset 6; the fan-out has not delivered it yet.
  feeds.completeJoin(b.socket, CHANNEL, { head: head(6), messages: messages(4, 5, 6), recovered: true });
  feeds.deliver(messages(6, 7));
  await a.received.waitFor(2);
  await b.received.waitFor(4);
  assert.deepEqual(a.events, ["6", "7"]);
  assert.deepEqual(b.events, ["4", "5", "6", "7"]);
});

test("a joiner told the room's live head (no history read) gets what arrives during its join, then the room's messages, each once", async (t) => {
  const { feeds, member, subscriber } = await feedsOnServer(t);
  assert.equal(feeds.liveHead(CHANNEL), undefined, "a channel this worker does not serve has no live head");
  const a = await member(head(5));
  feeds.deliver(messages(6));
  await a.received.waitFor(1);
  const b = await subscriber();
  feeds.beginJoin(b.socket, CHANNEL);
  const live = feeds.liveHead(CHANNEL);
  assert.deepEqual(live, head(6), "the live head is the last position the room was fed");
  // Delivered while B's subscribe waits on something else (presence, its token): B must get it.
  feeds.deliver(messages(7));
  feeds.completeJoin(b.socket, CHANNEL, { head: live!, messages: [], recovered: true });
  feeds.deliver(messages(8));
  await b.received.waitFor(2);
  await a.received.waitFor(3);
  assert.deepEqual(b.events, ["7", "8"]);
  assert.deepEqual(a.events, ["6", "7", "8"]);
});

test("a hole in what arrived during a join is announced to the joiner before the next message", async (t) => {
  const { feeds, subscriber } = await feedsOnServer(t);
  const s = await subscriber();
  feeds.beginJoin(s.socket, CHANNEL);
  feeds.deliver(messages(4));
  feeds.completeJoin(s.socket, CHANNEL, { head: head(2), messages: [], recovered: true });
  await s.received.waitFor(1);
  assert.deepEqual(s.events, ["resync 3 gap", "4"]);
});

test("the room is told of a gap in the live stream and of a reset, and re-read messages are dropped", async (t) => {
  const { feeds, member, reached } = await feedsOnServer(t);
  const a = await member(head(1));
  feeds.deliver(messages(2, 2, 4));
  feeds.reset(CHANNEL, head(0, "e2"));
  feeds.deliver([message(1, "e2")]);
  await a.received.waitFor(3);
  assert.deepEqual(a.events, ["2", "resync 3 gap", "4", "resync 0 epoch_changed", "1"]);
  assert.deepEqual(reached, [[2, 1], [4, 1], [1, 1]]);
});

test("a socket that leaves mid-join gets nothing, and a feed nobody holds is forgotten", async (t) => {
  const { feeds, subscriber } = await feedsOnServer(t);
  const gone = await subscriber();
  const stays = await subscriber();
  feeds.beginJoin(gone.socket, CHANNEL);
  feeds.beginJoin(stays.socket, CHANNEL);
  feeds.deliver(messages(1));
  feeds.leave(gone.socket, CHANNEL);
  feeds.completeJoin(gone.socket, CHANNEL, { head: head(0), messages: [], recovered: true });
  feeds.completeJoin(stays.socket, CHANNEL, { head: head(0), messages: [], recovered: true });
  feeds.deliver(messages(2));
  await stays.received.waitFor(2);
  assert.deepEqual(stays.events, ["1", "2"]);
  assert.deepEqual(gone.events, []);
  assert.ok(!gone.socket.rooms.has(roomOf(CHANNEL)), "it never joined the room");
  assert.equal(feeds.channelCount, 1);
  feeds.leave(stays.socket, CHANNEL);
  assert.equal(feeds.channelCount, 0);
});

test("a room of websocket, long-polling, upgrading and paused clients gets every message in order, emits in between too", async (t) => {
  const { feeds, member } = await feedsOnServer(t);
  const websocket = await member(head(0));
  const polling = await member(head(0), ["polling"]);
  const upgrading = await member(head(0), ["polling", "websocket"]);
  const paused = await member(head(0));
  // The paused client stops reading: its kernel buffers fill, then the server's socket buffer.
  const pausedTcp = (paused.client.io.engine.transport as unknown as { ws: { _socket: { pause(): void; resume(): void } } }).ws._socket;
  pausedTcp.pause();
  t.after(() => pausedTcp.resume());
  const everyone = [websocket, polling, upgrading, paused];

  const batches = 30;
  const perBatch = 10;
  // Mostly small messages (written straight to the socket), every fifth large enough that the
  // paused client's backlog soon outgrows what the kernel buffers and engine.io takes over.
  const data = (offset: number): string => "x".repeat(offset % 5 === 0 ? 256 * 1024 : 100);
  const expected: string[] = [];
  for (let batch = 0; batch < batches; batch++) {
    const offsets = Array.from({ length: perBatch }, (_, i) => batch * perBatch + i + 1);
    feeds.deliver(offsets.map((o) => ({ ...message(o), data: data(o) })));
    // An emit of Socket.IO's own (a resync stands in for presence or client events) after the batch.
    const last = offsets[offsets.length - 1]!;
    for (const s of everyone) s.socket.emit("resync", { channel: CHANNEL, epoch: EPOCH, offset: last, reason: "gap" });
    expected.push(...offsets.map(String), `resync ${last} gap`);
  }
  const queued = (paused.socket.conn as unknown as { writeBuffer: unknown[] }).writeBuffer.length;
  assert.ok(queued > 0, "engine.io holds what the paused client could not take");
  pausedTcp.resume();

  for (const s of everyone) {
    await s.received.waitFor(batches * perBatch, 30_000);
    await s.received.until(() => s.events.length === expected.length, 5_000, () => `${expected.length} events (have ${s.events.length})`);
    assert.deepEqual(s.events, expected);
  }
});
