import type { PublishRequest } from "../broker/broker.js";
import { PusherError } from "../protocol/errors.js";
import { publishBodySchema, type PublishBody } from "../protocol/messages.js";
import { parseInput } from "../protocol/validate.js";

/** Room in a body for everything but `data`: up to 100 channel names, the event, the id. */
export const ENVELOPE_BYTES = 64 * 1024;

/**
 * Validates one publish body (from HTTP or the Redis ingress) into a broker request: 400 naming
 * the bad field, 413 when its data is over the limit.
 */
export function publishRequestFrom(raw: unknown, maxPayloadBytes: number): PublishRequest {
  const body: PublishBody = parseInput(publishBodySchema, raw);
  const data = body.data ?? null;
  const size = Buffer.byteLength(JSON.stringify(data));
  if (size > maxPayloadBytes) throw new PusherError("payload_too_large", `data is ${size} bytes of JSON; limits.maxPayloadBytes is ${maxPayloadBytes}`);
  const channels = body.channels ? [...new Set(body.channels)] : [body.channel as string];
  return { channels, event: body.event, data, ...(body.id === undefined ? {} : { id: body.id }) };
}
