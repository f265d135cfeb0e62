import type { ErrorBody } from "./errors.js";
import type { Message, StreamPosition, SubscribeRequest, UnsubscribeRequest } from "./messages.js";
import type { ClientEvent, ClientEventRequest, Member, MemberEvent } from "./presence.js";

/**
 * Ack of `subscribe`: the channel's head at that moment, whether `since` could be honoured, and
 * on presence channels the members (this connection's user included).
 */
export type SubscribeAck =
  | ({ ok: true; recovered?: boolean; members?: Member[] } & StreamPosition)
  | { ok: false; error: ErrorBody };

/** Ack of `client-event`: sent to the other subscribers, or refused. */
export type ClientEventAck = { ok: true } | { ok: false; error: ErrorBody };

export type UnsubscribeAck = { ok: true } | { ok: false; error: ErrorBody };

/** Why a subscriber's stream broke: its channel's epoch changed (history lost), or offsets were skipped. */
export type ResyncReason = "epoch_changed" | "gap";

/**
 * Sent when a subscriber can no longer be given a gap-free stream (the channel's epoch changed
 * under it): the application must resynchronise from its source of truth.
 */
export interface ResyncNotice {
  channel: string;
  epoch: string;
  offset: number;
  reason: ResyncReason;
}

/** Sent just before the server closes a socket on purpose; the client helper reconnects after `retryAfterMs`. */
export interface ReconnectNotice {
  reason: "draining" | "overloaded";
  retryAfterMs: number;
}

export interface ClientToServerEvents {
  subscribe: (req: SubscribeRequest, ack: (res: SubscribeAck) => void) => void;
  unsubscribe: (req: UnsubscribeRequest, ack: (res: UnsubscribeAck) => void) => void;
  "client-event": (req: ClientEventRequest, ack?: (res: ClientEventAck) => void) => void;
}

export interface ServerToClientEvents {
  message: (msg: Message) => void;
  resync: (notice: ResyncNotice) => void;
  reconnect_advice: (notice: ReconnectNotice) => void;
  member_added: (event: MemberEvent) => void;
  member_removed: (event: MemberEvent) => void;
  client_event: (event: ClientEvent) => void;
}

export interface InterServerEvents {}

/** Per-socket state kept on `socket.data`. */
export interface SocketData {
  /** Channels this socket is subscribed to (or subscribing to). */
  channels: Set<string>;
  /** User ids this connection belongs to (its auth.token's and its presence tokens'): what a user disconnect matches; absent until it has one. */
  users?: Set<string>;
}
