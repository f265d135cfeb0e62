import type { Broker } from "../broker/broker.js";
import { tooDeep, valueDepth } from "../protocol/bounded-json.js";
import { PusherError, toErrorBody, type ErrorBody } from "../protocol/errors.js";
import type { SubscribeAck, UnsubscribeAck } from "../protocol/events.js";
import { subscribeRequestSchema, unsubscribeRequestSchema } from "../protocol/messages.js";
import { parseInput } from "../protocol/validate.js";
import type { Logger } from "../ops/logger.js";
import type { RateLimit } from "../ops/rate-limit.js";
import { addUser, type PusherSocket } from "../protocol/socket-types.js";
import type { ChannelOccupancy } from "../state/channel-occupancy.js";
import type { ChannelAuthorizer } from "./channel-authorizer.js";
import type { ChannelFeeds } from "./channel-feeds.js";

export interface SubscriptionDeps {
  broker: Broker;
  feeds: ChannelFeeds;
  /** Subscriber counts and presence members across workers and hosts. */
  occupancy: ChannelOccupancy;
  authorizer: ChannelAuthorizer;
  /** Per-socket budget of subscribe and unsubscribe requests. */
  requestRate: RateLimit;
  maxSubscriptionsPerSocket: number;
  /** Deepest nesting accepted in a request's payload (limits.maxPayloadDepth). */
  maxPayloadDepth: number;
  /** Told whether each subscribe with `since` could be honoured. */
  onRecovery(recovered: boolean): void;
  logger: Logger;
}

export type Answer<A> = (response: A) => void;
type Refusal = { ok: false; error: ErrorBody };

/**
 * Splits a client's event arguments into the payload and the ack. socket.io puts the ack last,
 * whatever came before it: `emit("subscribe", ack)` has no payload and `emit("subscribe", p, x,
 * ack)` an extra argument, and both must still be answered. A client may also omit the ack or send
 * garbage in its place; what is not a function is never called.
 */
function requestArguments<A>(args: unknown[]): { payload: unknown; answer: Answer<A> } {
  const last = args[args.length - 1];
  if (typeof last !== "function") return { payload: args[0], answer: () => undefined };
  return { payload: args.length > 1 ? args[0] : undefined, answer: (response) => (last as Answer<A>)(response) };
}

/** What socket.io calls for a client's event, with the socket as `this`. */
export type RequestListener = (this: PusherSocket, ...args: unknown[]) => void;

/**
 * A listener that runs `handle` for each `event` from a socket, with its payload's depth bounded
 * first. One function per worker, shared by every socket (socket.io calls listeners with the
 * socket as `this`): a closure per socket and event cost every connection a function and its
 * context for as long as it stays connected.
 */
export function requestListener<A>(
  event: "subscribe" | "unsubscribe" | "client-event",
  maxDepth: number,
  handle: (socket: PusherSocket, payload: unknown, answer: Answer<A | Refusal>) => Promise<void>,
): RequestListener {
  return function (this: PusherSocket, ...args: unknown[]): void {
    const { payload, answer } = requestArguments<A | Refusal>(args);
    if (valueDepth(payload, maxDepth) > maxDepth) {
      answer({ ok: false, error: tooDeep(event, maxDepth).toBody() });
      return;
    }
    void handle(this, payload, answer);
  };
}

/** Adds `listener` for `event`: typed events know the well-formed arguments only, and a client may send any. */
export function listen(socket: PusherSocket, event: "subscribe" | "unsubscribe" | "client-event", listener: RequestListener): void {
  (socket as unknown as { on(event: string, listener: RequestListener): void }).on(event, listener);
}

export function handshakeToken(socket: PusherSocket): string | undefined {
  const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
  return typeof token === "string" && token !== "" ? token : undefined;
}

/** Returns what installs `subscribe` and `unsubscribe` on each new socket (DESIGN §3). */
export function subscriptionHandlers(deps: SubscriptionDeps): (socket: PusherSocket) => void {
  const onSubscribe = requestListener<SubscribeAck>("subscribe", deps.maxPayloadDepth, (socket, raw, answer) => subscribe(socket, raw, answer, deps));
  const onUnsubscribe = requestListener<UnsubscribeAck>("unsubscribe", deps.maxPayloadDepth, (socket, raw, answer) => unsubscribe(socket, raw, answer, deps));
  function onDisconnect(this: PusherSocket): void {
    deps.feeds.forgetSocket(this, this.data.channels);
    for (const channel of this.data.channels) deps.occupancy.leave(this, channel);
    this.data.channels.clear();
  }
  return (socket) => {
    socket.data.channels = new Set();
    // The user POST /v1/users/:id/disconnect finds this connection by, besides its presence users.
    void deps.authorizer.connectionUser(handshakeToken(socket)).then((user) => {
      if (user !== undefined) addUser(socket, user);
    });
    listen(socket, "subscribe", onSubscribe);
    listen(socket, "unsubscribe", onUnsubscribe);
    socket.on("disconnect", onDisconnect);
  };
}

async function subscribe(socket: PusherSocket, raw: unknown, answer: Answer<SubscribeAck>, deps: SubscriptionDeps): Promise<void> {
  const { channels } = socket.data;
  let reserved: string | undefined;
  try {
    await deps.requestRate.take(socket.id);
    const request = parseInput(subscribeRequestSchema, raw);
    const { channel } = request;
    if (channels.has(channel)) {
      const [{ head }, members] = await Promise.all([deps.broker.history(channel), deps.occupancy.membersOf(channel)]);
      answer({ ok: true, ...head, ...(members ? { members } : {}) });
      return;
    }
    const checkRoom = (): void => {
      if (channels.size >= deps.maxSubscriptionsPerSocket) throw new PusherError("too_many_subscriptions");
    };
    checkRoom();
    const grant = await deps.authorizer.authorize(channel, request.token ?? handshakeToken(socket));
    if (!socket.connected) return;
    // Again: concurrent subscribes all passed the first check while their tokens were verified.
    checkRoom();
    // Reserved before the history read, so concurrent subscribes count against the limit.
    channels.add(channel);
    reserved = channel;
    deps.feeds.beginJoin(socket, channel);
    // Read in the same tick as beginJoin: what the room is fed from now on reaches the joiner.
    const liveHead = request.since ? undefined : deps.feeds.liveHead(channel);
    const [members, history] = await Promise.all([
      deps.occupancy.join(socket, channel, grant.user),
      liveHead ? { head: liveHead, messages: [], recovered: true } : deps.broker.history(channel, request.since),
    ]);
    reserved = undefined;
    if (request.since) deps.onRecovery(history.recovered);
    answer({ ok: true, ...history.head, ...(request.since ? { recovered: history.recovered } : {}), ...(members ? { members } : {}) });
    deps.occupancy.admit(socket, channel);
    deps.feeds.completeJoin(socket, channel, history);
  } catch (err) {
    if (reserved !== undefined && channels.delete(reserved)) {
      deps.feeds.leave(socket, reserved);
      deps.occupancy.leave(socket, reserved);
    }
    if (!(err instanceof PusherError)) deps.logger.error({ err, socket: socket.id }, "subscribe failed");
    answer({ ok: false, error: toErrorBody(err) });
  }
}

async function unsubscribe(socket: PusherSocket, raw: unknown, answer: Answer<UnsubscribeAck>, deps: SubscriptionDeps): Promise<void> {
  try {
    await deps.requestRate.take(socket.id);
    const { channel } = parseInput(unsubscribeRequestSchema, raw);
    if (socket.data.channels.delete(channel)) {
      deps.feeds.leave(socket, channel);
      deps.occupancy.leave(socket, channel);
    }
    answer({ ok: true });
  } catch (err) {
    if (!(err instanceof PusherError)) deps.logger.error({ err, socket: socket.id }, "unsubscribe failed");
    answer({ ok: false, error: toErrorBody(err) });
  }
}
