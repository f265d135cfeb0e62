import type { Broker } from "../broker/broker.js";
import { tooDeep, valueDepth } from "../protocol/bounded-json.js";
import { PusherError, toErrorBody, type ErrorBody } from "../protocol/errors.js";
import type { SubscribeAck, UnsubscribeAck } from "../protocol/events.js";
import { subscribeRequestSchema, unsubscribeRequestSchema } from "../protocol/messages.js";
import { parseInput } from "../protocol/validate.js";
import type { Logger } from "../ops/logger.js";
import type { RateLimit } from "../ops/rate-limit.js";
import type { PusherSocket } from "../protocol/socket-types.js";
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

/** Runs `handle` for each `event` from the socket, with its payload's depth bounded first. */
export function onRequest<A>(
  socket: PusherSocket,
  event: "subscribe" | "unsubscribe" | "client-event",
  maxDepth: number,
  handle: (payload: unknown, answer: Answer<A | Refusal>) => Promise<void>,
): void {
  // Typed events know the well-formed arguments only; a client may send any.
  (socket as unknown as { on(event: string, listener: (...args: unknown[]) => void): void }).on(event, (...args) => {
    const { payload, answer } = requestArguments<A | Refusal>(args);
    if (valueDepth(payload, maxDepth) > maxDepth) {
      answer({ ok: false, error: tooDeep(event, maxDepth).toBody() });
      return;
    }
    void handle(payload, answer);
  });
}

export function handshakeToken(socket: PusherSocket): string | undefined {
  const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
  return typeof token === "string" && token !== "" ? token : undefined;
}

/** Installs `subscribe` and `unsubscribe` on a new socket (DESIGN §3). */
export function handleSubscriptions(socket: PusherSocket, deps: SubscriptionDeps): void {
  socket.data.channels = new Set();
  socket.data.users = new Set();
  // The user POST /v1/users/:id/disconnect finds this connection by, besides its presence users.
  void deps.authorizer.connectionUser(handshakeToken(socket)).then((user) => {
    if (user !== undefined) socket.data.users.add(user);
  });
  onRequest<SubscribeAck>(socket, "subscribe", deps.maxPayloadDepth, (raw, answer) => subscribe(socket, raw, answer, deps));
  onRequest<UnsubscribeAck>(socket, "unsubscribe", deps.maxPayloadDepth, (raw, answer) => unsubscribe(socket, raw, answer, deps));
  socket.on("disconnect", () => {
    deps.feeds.forgetSocket(socket, socket.data.channels);
    for (const channel of socket.data.channels) deps.occupancy.leave(socket, channel);
    socket.data.channels.clear();
  });
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
