import { z } from "zod";
import { CHANNEL_PATTERN } from "./channels.js";
import { errorTable } from "./errors.js";

/** Presence and client-event payloads shared by the server, the client helper and tests (DESIGN §3). */

/** A presence channel's member: the `user` claim of the token it subscribed with. */
export interface Member {
  id: string;
  /** Whatever the backend put in the token's `user.info` (JSON, at most limits.maxPresenceInfoBytes). */
  info?: unknown;
}

/** A presence user as a verified token names it, with its info already encoded (and bounded). */
export interface PresenceUser {
  id: string;
  /** JSON text of `user.info`; "" when the token has none. */
  info: string;
}

/** The `user` claim of a presence token (or of a connection's `auth.token`). */
export const tokenUserSchema = z.object({
  id: z.string().min(1).max(128),
  info: z.unknown().optional(),
});

export function isPresenceChannel(channel: string): boolean {
  return channel.startsWith("presence-");
}

/** Client events are allowed where every subscriber was authorised: private and presence channels. */
export function allowsClientEvents(channel: string): boolean {
  return channel.startsWith("private-") || isPresenceChannel(channel);
}

export const CLIENT_EVENT_PREFIX = "client-";

/** `socket.emit("client-event", ...)`: a client's message to the other subscribers of a channel. */
export const clientEventRequestSchema = z.object({
  channel: z.string().regex(CHANNEL_PATTERN, errorTable.invalid_channel.message),
  event: z.string().min(1).max(200),
  data: z.unknown().optional(),
});
export type ClientEventRequest = z.infer<typeof clientEventRequestSchema>;

/** What the other subscribers receive as `client_event`: not stored, no offset, not echoed. */
export interface ClientEvent {
  channel: string;
  event: string;
  data: unknown;
  /** The sender's presence user id, on presence channels. */
  user_id?: string;
}

/** `member_added` / `member_removed`. */
export interface MemberEvent {
  channel: string;
  member: Member;
}
