import type { PublishRequest } from "../broker/broker.js";
import { tooDeep, valueDepth } from "../protocol/bounded-json.js";
import { PusherError } from "../protocol/errors.js";
import { publishBodySchema, type PublishBody } from "../protocol/messages.js";
import { parseInput } from "../protocol/validate.js";

/** Room in a body for everything but `data`: up to 100 channel names, the event, the id. */
export const ENVELOPE_BYTES = 64 * 1024;

/** Nesting a publish body adds around `data` (`{"data": ...}`); a batch adds `{"messages": [...]}`. */
export const PUBLISH_ENVELOPE_DEPTH = 1;
export const BATCH_ENVELOPE_DEPTH = 3;

export interface PayloadLimits {
  maxPayloadBytes: number;
  maxPayloadDepth: number;
}

/**
 * Validates one publish body (from HTTP or the Redis ingress) into a broker request: 400 naming
 * the bad field or the depth limit, 413 when its data is over the size limit. Depth is checked
 * first, without recursion: measuring the size serialises `data`, which recurses.
 */
export function publishRequestFrom(raw: unknown, limits: PayloadLimits): PublishRequest {
  const body: PublishBody = parseInput(publishBodySchema, raw);
  const data = body.data ?? null;
  if (valueDepth(data, limits.maxPayloadDepth) > limits.maxPayloadDepth) throw tooDeep("data", limits.maxPayloadDepth);
  const size = Buffer.byteLength(JSON.stringify(data));
  if (size > limits.maxPayloadBytes) throw new PusherError("payload_too_large", `data is ${size} bytes of JSON; limits.maxPayloadBytes is ${limits.maxPayloadBytes}`);
  const channels = body.channels ? [...new Set(body.channels)] : [body.channel as string];
  return { channels, event: body.event, data, ...(body.id === undefined ? {} : { id: body.id }) };
}
