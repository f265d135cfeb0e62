/**
 * One failover subscriber process: opens its subscribers on one host, keeps the set of seqs each
 * one's application received, and answers the coordinator over IPC. Subscribers reconnect by
 * themselves, so a message counts as missed only if it never arrived.
 */
import { io, type Socket } from "socket.io-client";
import { PusherClient } from "../../src/client/index.js";
import type { ClientToServerEvents, ServerToClientEvents } from "../../src/protocol/events.js";
import type { FailoverPayload, SubscriberCommand, SubscriberEvent, SubscriberPlan } from "./protocol.js";

/** Seqs received, with the stream position each first came at ("" where the server sends none). */
type Received = Map<number, string>;

interface Subscriber {
  seen: Received;
  ready: Promise<unknown>;
  close(): void;
}

const subscribers: Subscriber[] = [];
const firstArrival = new Map<number, number>();
let duplicates = 0;
/** A few duplicated seqs, each described once (by the first subscriber that saw it twice). */
const duplicateSamples = new Map<number, string>();
const DUPLICATE_SAMPLES = 5;
let resyncs = 0;
let firstResync: string | undefined;
let disconnects = 0;
let firstError: string | undefined;
let acked: number[] = [];

function send(event: SubscriberEvent): void {
  process.send?.(event);
}

function noteError(err: unknown): void {
  firstError ??= err instanceof Error ? err.message : String(err);
}

function record(seen: Received, message: { data: unknown; epoch?: string; offset?: number }): void {
  const seq = (message.data as Partial<FailoverPayload> | undefined)?.seq;
  if (typeof seq !== "number") return;
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
  if (!firstArrival.has(seq)) firstArrival.set(seq, Date.now());
}

function openPusher(plan: SubscriberPlan): Subscriber {
  const seen: Received = new Map();
  const client = new PusherClient(plan.url, { transports: ["websocket"] });
  client.on("error", noteError);
  client.on("state", (state) => {
    if (state === "disconnected") disconnects += 1;
  });
  const subscription = client.subscribe(plan.channel, (message) => record(seen, message), {
    onResync: (event) => {
      resyncs += 1;
      const from = event.previous ? `${event.previous.epoch}:${event.previous.offset}` : "nothing";
      firstResync ??= `${event.reason}: from ${from} to ${event.epoch}:${event.offset}`;
    },
  });
  return { seen, ready: subscription.ready, close: () => client.close() };
}

function openSocketIo(plan: SubscriberPlan): Subscriber {
  const seen: Received = new Map();
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(plan.url, { transports: ["websocket"], forceNew: true });
  socket.on("message", (message) => record(seen, message));
  socket.on("disconnect", () => {
    disconnects += 1;
  });
  // A new connection is in no room: join again on every connect, as such applications do.
  const ready = new Promise<void>((resolve) => {
    socket.on("connect", () => {
      socket.timeout(plan.connectTimeoutMs).emit("subscribe", { channel: plan.channel }, (err, ack) => {
        if (err) noteError(err);
        else if (!ack.ok) noteError(new Error(`subscribe refused: ${ack.error.code}`));
        else resolve();
      });
    });
  });
  return { seen, ready, close: () => socket.disconnect() };
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

async function open(plan: SubscriberPlan): Promise<void> {
  const opener = plan.client === "pusher" ? openPusher : openSocketIo;
  for (let i = 0; i < plan.count; i++) subscribers.push(opener(plan));
  const settled = await Promise.all(subscribers.map((s) => settlesWithin(s.ready, plan.connectTimeoutMs)));
  const subscribed = settled.filter(Boolean).length;
  send({ type: "opened", subscribed, ...(firstError !== undefined ? { firstError } : {}) });
}

function missed(): { lost: Array<[number, number]>; missedDeliveries: number } {
  const lost: Array<[number, number]> = [];
  let missedDeliveries = 0;
  for (const seq of acked) {
    const missing = subscribers.filter((s) => !s.seen.has(seq)).length;
    missedDeliveries += missing;
    if (missing > 0) lost.push([seq, missing]);
  }
  return { lost, missedDeliveries };
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
        disconnects,
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
