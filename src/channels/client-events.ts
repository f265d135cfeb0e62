import { PusherError, toErrorBody } from "../protocol/errors.js";
import type { ClientEventAck } from "../protocol/events.js";
import { allowsClientEvents, CLIENT_EVENT_PREFIX, clientEventRequestSchema, type ClientEvent } from "../protocol/presence.js";
import type { PusherSocket } from "../protocol/socket-types.js";
import { parseInput } from "../protocol/validate.js";
import type { Logger } from "../ops/logger.js";
import type { RateLimit } from "../ops/rate-limit.js";
import type { ChannelOccupancy } from "../state/channel-occupancy.js";
import { listen, requestListener } from "./subscription-handlers.js";

export interface ClientEventDeps {
  occupancy: ChannelOccupancy;
  /** Sends the event to every worker on every host (ChannelStateBackend.broadcast). */
  broadcast(event: ClientEvent, from: string): Promise<void>;
  /** Per-socket budget (limits.clientEventRatePerSecond). */
  rate: RateLimit;
  maxDataBytes: number;
  maxPayloadDepth: number;
  logger: Logger;
}

/**
 * Returns what installs `client-event` on each new socket (DESIGN §3): a subscriber of a private or presence
 * channel sends `{channel, event: "client-…", data}`; the other subscribers on every host get
 * `client_event`, with the sender's presence user id. Not stored, no offset, not echoed.
 */
export function clientEventHandler(deps: ClientEventDeps): (socket: PusherSocket) => void {
  const onClientEvent = requestListener<ClientEventAck>("client-event", deps.maxPayloadDepth, async (socket, raw, answer) => {
    try {
      await deps.rate.take(socket.id);
      const request = parseInput(clientEventRequestSchema, raw);
      const { channel, event } = request;
      if (!allowsClientEvents(channel)) throw new PusherError("client_events_not_allowed");
      if (!event.startsWith(CLIENT_EVENT_PREFIX)) throw new PusherError("invalid_client_event", `event "${event}" does not start with ${CLIENT_EVENT_PREFIX}`);
      if (!socket.data.channels.has(channel)) throw new PusherError("not_subscribed", `this socket is not subscribed to ${channel}`);
      const data = request.data ?? null;
      if (Buffer.byteLength(JSON.stringify(data)) > deps.maxDataBytes) throw new PusherError("invalid_client_event", `data is over limits.maxClientEventBytes (${deps.maxDataBytes})`);
      const user = deps.occupancy.userOf(socket, channel);
      await deps.broadcast({ channel, event, data, ...(user !== undefined ? { user_id: user } : {}) }, socket.id);
      answer({ ok: true });
    } catch (err) {
      if (!(err instanceof PusherError)) deps.logger.error({ err, socket: socket.id }, "client event failed");
      answer({ ok: false, error: toErrorBody(err) });
    }
  });
  return (socket) => listen(socket, "client-event", onClientEvent);
}
