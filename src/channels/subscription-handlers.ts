import type { Broker } from "../broker/broker.js";
import { PusherError, toErrorBody } from "../protocol/errors.js";
import type { SubscribeAck, UnsubscribeAck } from "../protocol/events.js";
import { subscribeRequestSchema, unsubscribeRequestSchema } from "../protocol/messages.js";
import { parseInput } from "../protocol/validate.js";
import type { Logger } from "../ops/logger.js";
import type { RateLimit } from "../ops/rate-limit.js";
import type { PusherSocket } from "../worker/io-types.js";
import type { ChannelAuthorizer } from "./channel-authorizer.js";
import type { ChannelFeeds } from "./channel-feeds.js";

export interface SubscriptionDeps {
  broker: Broker;
  feeds: ChannelFeeds;
  authorizer: ChannelAuthorizer;
  /** Per-socket budget of subscribe and unsubscribe requests. */
  requestRate: RateLimit;
  maxSubscriptionsPerSocket: number;
  /** Told whether each subscribe with `since` could be honoured. */
  onRecovery(recovered: boolean): void;
  logger: Logger;
}

type Answer<A> = (response: A) => void;

/** A client may omit the ack or send garbage in its place; never call what is not a function. */
function answerer<A>(ack: unknown): Answer<A> {
  return typeof ack === "function" ? (response) => (ack as Answer<A>)(response) : () => undefined;
}

function handshakeToken(socket: PusherSocket): string | undefined {
  const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
  return typeof token === "string" && token !== "" ? token : undefined;
}

/** Installs `subscribe` and `unsubscribe` on a new socket (DESIGN §3). */
export function handleSubscriptions(socket: PusherSocket, deps: SubscriptionDeps): void {
  socket.data.channels = new Set();
  socket.on("subscribe", (raw, ack) => void subscribe(socket, raw, answerer<SubscribeAck>(ack), deps));
  socket.on("unsubscribe", (raw, ack) => void unsubscribe(socket, raw, answerer<UnsubscribeAck>(ack), deps));
  socket.on("disconnect", () => {
    deps.feeds.forgetSocket(socket, socket.data.channels);
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
      const { head } = await deps.broker.history(channel);
      answer({ ok: true, ...head });
      return;
    }
    if (channels.size >= deps.maxSubscriptionsPerSocket) throw new PusherError("too_many_subscriptions");
    await deps.authorizer.authorize(channel, request.token ?? handshakeToken(socket));
    if (!socket.connected) return;
    // Reserved before the history read, so concurrent subscribes count against the limit.
    channels.add(channel);
    reserved = channel;
    deps.feeds.beginJoin(socket, channel);
    const history = await deps.broker.history(channel, request.since);
    reserved = undefined;
    if (request.since) deps.onRecovery(history.recovered);
    answer({ ok: true, ...history.head, ...(request.since ? { recovered: history.recovered } : {}) });
    deps.feeds.completeJoin(socket, channel, history);
  } catch (err) {
    if (reserved !== undefined && channels.delete(reserved)) deps.feeds.leave(socket, reserved);
    if (!(err instanceof PusherError)) deps.logger.error({ err, socket: socket.id }, "subscribe failed");
    answer({ ok: false, error: toErrorBody(err) });
  }
}

async function unsubscribe(socket: PusherSocket, raw: unknown, answer: Answer<UnsubscribeAck>, deps: SubscriptionDeps): Promise<void> {
  try {
    await deps.requestRate.take(socket.id);
    const { channel } = parseInput(unsubscribeRequestSchema, raw);
    if (socket.data.channels.delete(channel)) deps.feeds.leave(socket, channel);
    answer({ ok: true });
  } catch (err) {
    answer({ ok: false, error: toErrorBody(err) });
  }
}
