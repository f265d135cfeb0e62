import { createHash } from "node:crypto";
import type { PublishRequest } from "./broker.js";

/**
 * What a publish id is remembered under: the id together with the channels it was published to.
 * A retry repeats both and is answered from memory; the same id sent to another channel is another
 * message, and is published there instead of being answered with offsets that do not name that
 * channel (and silently delivered nowhere). The channels are a set: a retry that lists them in
 * another order, or one twice, is the same publish. Hashed, so a hundred long channel names make
 * a short key.
 */
export function dedupKey(request: PublishRequest & { id: string }): string {
  const channels = [...new Set(request.channels)].sort();
  return createHash("sha256").update(JSON.stringify([request.id, channels])).digest("base64url");
}
