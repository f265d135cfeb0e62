/** The pusher client helper: one connection, per-channel positions, recovery after reconnects. */
export { PusherClient } from "./pusher-client.js";
export type { ClientEvents, ConnectionState, PusherClientOptions, StateDetail } from "./pusher-client.js";
export { SubscriptionError } from "./subscription.js";
export type { MessageHandler, ResyncEvent, SubscribeOk, SubscribeOptions, Subscription, TokenSource } from "./subscription.js";
export { ChannelPosition } from "./channel-position.js";
export type { MessageVerdict, PositionJump } from "./channel-position.js";
export type { ResyncReason } from "../protocol/events.js";
export type { ReconnectDelayOptions } from "./reconnect-delay.js";
export type { Message, StreamPosition } from "../protocol/messages.js";
export type { ResyncNotice, SubscribeAck } from "../protocol/events.js";
export { MemberList } from "./member-list.js";
export type { MemberChanges } from "./member-list.js";
export type { ClientEvent, Member, MemberEvent } from "../protocol/presence.js";
export type { ClientEventAck } from "../protocol/events.js";
