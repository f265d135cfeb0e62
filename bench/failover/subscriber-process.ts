/**
 * One failover subscriber process: opens its subscribers (on one host, or through a proxy from
 * several source addresses), keeps the set of seqs each one's application received and the
 * resyncs it was told of, and answers the coordinator over IPC. Subscribers reconnect by
 * themselves, so a message counts as missed only if it never arrived.
 */
import http from "node:http";
import { io, type Socket } from "socket.io-client";
import { PusherClient } from "../../src/client/index.js";
import type { ClientToServerEvents, ServerToClientEvents } from "../../src/protocol/events.js";
import type { StreamPosition } from "../../src/protocol/messages.js";
import { wasTold, type ToldGap } from "./told-gaps.js";
import type { AckedMessage, FailoverPayload, SubscriberCommand, SubscriberEvent, SubscriberPlan, Transports } from "./protocol.js";

interface Subscriber {
  channel: string;
  /** "websocket from 127.0.1.3 on fault-2, connected": who it is and how it is doing now. */
  describe(): string;
  connected(): boolean;
  /** Seqs received, with the stream position each first came at ("" where the server sends none). */
  seen: Map<number, string>;
  told: ToldGap[];
  lastArrival?: number;
  ready: Promise<unknown>;
  close(): void;
}

/** What one subscriber connects with: its channel, transports and (through a proxy) source address. */
interface Placement {
  url: string;
  channel: string;
  transports: Transports;
  agent?: http.Agent;
  localAddress?: string;
  connectTimeoutMs: number;
}

const WORST_MISSERS = 3;

function who(at: Placement): string {
  return `${at.transports.join("+")}${at.localAddress !== undefined ? ` from ${at.localAddress}` : ""} on ${at.channel}`;
}

const subscribers: Subscriber[] = [];
const firstArrival = new Map<number, number>();
/** Where each seq sat in its channel's stream, from whichever subscriber got it. */
const positions = new Map<number, StreamPosition>();
let duplicates = 0;
/** A few duplicated seqs, each described once (by the first subscriber that saw it twice). */
const duplicateSamples = new Map<number, string>();
const DUPLICATE_SAMPLES = 5;
let resyncs = 0;
const resyncReasons: Record<string, number> = {};
let firstResync: string | undefined;
let disconnects = 0;
let longestGapMs = 0;
let firstError: string | undefined;
let acked: AckedMessage[] = [];

function send(event: SubscriberEvent): void {
  process.send?.(event);
}

function noteError(err: unknown): void {
  firstError ??= err instanceof Error ? err.message : String(err);
}

function record(subscriber: Subscriber, message: { data: unknown; epoch?: string; offset?: number }): void {
  const seq = (message.data as Partial<FailoverPayload> | undefined)?.seq;
  if (typeof seq !== "number") return;
  const now = Date.now();
  if (subscriber.lastArrival !== undefined) longestGapMs = Math.max(longestGapMs, now - subscriber.lastArrival);
  subscriber.lastArrival = now;
  const { seen } = subscriber;
  const position = message.epoch !== undefined ? `${message.epoch}:${message.offset}` : "";
  const first = seen.get(seq);
  if (first !== undefined) {
    duplicates += 1;
    if (duplicateSamples.size < DUPLICATE_SAMPLES && !duplicateSamples.has(seq)) {
      duplicateSamples.set(seq, position === "" ? `#${seq}` : `#${seq} at ${position}, first at ${first}`);
    }
    return;
  }
  seen.set(seq, position);
  if (message.epoch !== undefined && message.offset !== undefined) positions.set(seq, { epoch: message.epoch, offset: message.offset });
  if (!firstArrival.has(seq)) firstArrival.set(seq, now);
}

function newSubscriber(at: Placement): Subscriber {
  return { channel: at.channel, describe: () => who(at), connected: () => true, seen: new Map(), told: [], ready: Promise.resolve(), close: () => undefined };
}

function openPusher(at: Placement): Subscriber {
  const subscriber = newSubscriber(at);
  const client = new PusherClient(at.url, {
    transports: at.transports,
    // engine.io passes `agent` on to Node's http (polling) and ws (websocket); its type says string.
    ...(at.agent !== undefined ? { socketOptions: { agent: at.agent as unknown as string } } : {}),
  });
  client.on("error", noteError);
  client.on("state", (state) => {
    if (state === "disconnected") disconnects += 1;
  });
  const subscription = client.subscribe(at.channel, (message) => record(subscriber, message), {
    onResync: (event) => {
      resyncs += 1;
      resyncReasons[event.reason] = (resyncReasons[event.reason] ?? 0) + 1;
      subscriber.told.push({ previous: event.previous, to: { epoch: event.epoch, offset: event.offset } });
      const from = event.previous ? `${event.previous.epoch}:${event.previous.offset}` : "nothing";
      firstResync ??= `${event.reason}: from ${from} to ${event.epoch}:${event.offset}`;
    },
  });
  subscriber.ready = subscription.ready;
  subscriber.close = () => client.close();
  subscriber.describe = () => `${who(at)}, ${client.state}`;
  subscriber.connected = () => client.state === "connected";
  return subscriber;
}

function openSocketIo(at: Placement): Subscriber {
  const subscriber = newSubscriber(at);
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(at.url, {
    transports: at.transports,
    forceNew: true,
    ...(at.agent !== undefined ? { agent: at.agent as unknown as string } : {}),
  });
  socket.on("message", (message) => record(subscriber, message));
  socket.on("disconnect", () => {
    disconnects += 1;
  });
  // A new connection is in no room: join again on every connect, as such applications do.
  const ready = new Promise<void>((resolve) => {
    socket.on("connect", () => {
      socket.timeout(at.connectTimeoutMs).emit("subscribe", { channel: at.channel }, (err, ack) => {
        if (err) noteError(err);
        else if (!ack.ok) noteError(new Error(`subscribe refused: ${ack.error.code}`));
        else resolve();
      });
    });
  });
  subscriber.ready = ready;
  subscriber.close = () => socket.disconnect();
  subscriber.connected = () => socket.connected;
  return subscriber;
}

/** True once `promise` resolves; false if it rejects (noted) or takes longer than `ms`. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const outcome = promise.then(
    () => true,
    (err: unknown) => {
      noteError(err);
      return false;
    },
  );
  return Promise.race([outcome, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref())]);
}

/**
 * Subscriber i takes channel i mod C and, with j = floor(i / C), transport j mod T and source
 * address (i + j) mod A: each channel's subscribers walk every transport and every address, so
 * with addresses spread over the hosts every channel and transport is on every host.
 */
function placements(plan: SubscriberPlan): Placement[] {
  const addresses = plan.localAddresses ?? [];
  const agents = addresses.map((localAddress) => new http.Agent({ localAddress, keepAlive: true }));
  return Array.from({ length: plan.count }, (_, i) => {
    const j = Math.floor(i / plan.channels.length);
    const a = (i + j) % Math.max(1, agents.length);
    return {
      url: plan.url,
      channel: plan.channels[i % plan.channels.length]!,
      transports: plan.transports[j % plan.transports.length]!,
      ...(agents.length > 0 ? { agent: agents[a]!, localAddress: addresses[a]! } : {}),
      connectTimeoutMs: plan.connectTimeoutMs,
    };
  });
}

async function open(plan: SubscriberPlan): Promise<void> {
  const opener = plan.client === "pusher" ? openPusher : openSocketIo;
  for (const at of placements(plan)) subscribers.push(opener(at));
  const settled = await Promise.all(subscribers.map((s) => settlesWithin(s.ready, plan.connectTimeoutMs)));
  const subscribed = settled.filter(Boolean).length;
  send({ type: "opened", subscribed, ...(firstError !== undefined ? { firstError } : {}) });
}

function toldOf(subscriber: Subscriber, message: AckedMessage): boolean {
  const at = message.epoch !== undefined && message.offset !== undefined ? { epoch: message.epoch, offset: message.offset } : positions.get(message.seq);
  return wasTold(subscriber.told, at);
}

function missed(): { lost: Array<[number, number]>; missedDeliveries: number; silentMisses: number; silentLost: number[]; worstMissers: string[] } {
  const lost: Array<[number, number]> = [];
  const silentLost: number[] = [];
  const missesBy = new Map<Subscriber, number>();
  let missedDeliveries = 0;
  let silentMisses = 0;
  for (const message of acked) {
    const missers = subscribers.filter((s) => s.channel === message.channel && !s.seen.has(message.seq));
    missedDeliveries += missers.length;
    if (missers.length > 0) lost.push([message.seq, missers.length]);
    for (const s of missers) missesBy.set(s, (missesBy.get(s) ?? 0) + 1);
    const silent = missers.filter((s) => !toldOf(s, message)).length;
    silentMisses += silent;
    if (silent > 0) silentLost.push(message.seq);
  }
  const worstMissers = [...missesBy]
    .sort((a, b) => b[1] - a[1])
    .slice(0, WORST_MISSERS)
    .map(([s, n]) => `${s.describe()}: missed ${n}, last delivery ${s.lastArrival !== undefined ? new Date(s.lastArrival).toISOString().slice(11, 23) : "never"}`);
  return { lost, missedDeliveries, silentMisses, silentLost, worstMissers };
}

process.on("message", (command: SubscriberCommand) => {
  switch (command.type) {
    case "open":
      void open(command.plan);
      break;
    case "missing":
      if (command.acked !== undefined) acked = command.acked;
      send({ type: "missing", missedDeliveries: missed().missedDeliveries });
      break;
    case "report":
      send({
        type: "report",
        ...missed(),
        duplicates,
        duplicateSamples: [...duplicateSamples.values()],
        resyncs,
        resyncReasons,
        disconnects,
        longestGapMs,
        notConnected: subscribers.filter((s) => !s.connected()).length,
        firstArrival: [...firstArrival],
        ...(firstError !== undefined ? { firstError } : {}),
        ...(firstResync !== undefined ? { firstResync } : {}),
      });
      break;
    case "close":
      for (const s of subscribers) s.close();
      // Let the close frames leave before exiting.
      setTimeout(() => process.exit(0), 200).unref();
      break;
  }
});
// The coordinator's death must not leave the sockets open.
process.on("disconnect", () => process.exit(0));
