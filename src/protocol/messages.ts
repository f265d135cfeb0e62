import { z } from "zod";
import { CHANNEL_PATTERN } from "./channels.js";
import { errorTable } from "./errors.js";

/**
 * Payload schemas shared by the socket handlers, the publish API, the client helper and tests.
 * zod is the one validation library: every untrusted input goes through a schema here.
 */

/** A place in a channel's stream: offsets grow by 1 per message; the epoch changes when history is lost. */
export const streamPositionSchema = z.object({
  epoch: z.string().min(1).max(64),
  offset: z.number().int().nonnegative(),
});
export type StreamPosition = z.infer<typeof streamPositionSchema>;

const channelSchema = z.string().regex(CHANNEL_PATTERN, errorTable.invalid_channel.message);

export const subscribeRequestSchema = z.object({
  channel: channelSchema,
  token: z.string().min(1).max(8192).optional(),
  since: streamPositionSchema.optional(),
});
export type SubscribeRequest = z.infer<typeof subscribeRequestSchema>;

export const unsubscribeRequestSchema = z.object({ channel: channelSchema });
export type UnsubscribeRequest = z.infer<typeof unsubscribeRequestSchema>;

const eventNameSchema = z.string().min(1).max(200);
const messageIdSchema = z.string().min(1).max(200);

/** The body of POST /v1/publish: exactly one of `channel` or `channels`. */
export const publishBodySchema = z
  .object({
    channel: channelSchema.optional(),
    channels: z.array(channelSchema).min(1).max(100).optional(),
    event: eventNameSchema,
    data: z.unknown().optional(),
    id: messageIdSchema.optional(),
  })
  .strict()
  .refine((b) => (b.channel === undefined) !== (b.channels === undefined), {
    message: "give exactly one of channel or channels",
    path: ["channel"],
  });
export type PublishBody = z.infer<typeof publishBodySchema>;

export const batchBodySchema = z.object({ messages: z.array(z.unknown()).min(1) }).strict();

/** A message as the broker stores it and as subscribers receive it. */
export interface Message {
  channel: string;
  event: string;
  data: unknown;
  epoch: string;
  offset: number;
  /** Milliseconds since the epoch at which the broker accepted the message. */
  ts: number;
  /**
   * The message's identity, stable across retries and epochs: the publish `id` when the publisher
   * gave one, else one the Redis broker minted. A message the server had to write again (an
   * unknown outcome retried on a new master) carries the same id in its new epoch, so a client can
   * drop the second copy. Absent on embedded-mode messages published without an id.
   */
  id?: string;
}

/** What a publish answers: the position each channel's copy of the message took. */
export type PublishOffsets = Record<string, StreamPosition>;

/** Formats the first schema issue as "field: problem", so a 400 names the bad field. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid input";
  const path = issue.path.length > 0 ? issue.path.join(".") : "body";
  return `${path}: ${issue.message}`;
}
