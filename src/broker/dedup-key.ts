import { createHash } from "node:crypto";
import type { PublishRequest } from "./broker.js";

/**
 * What a publish id is remembered under: the id together with the channels it was published to.
 * A retry repeats both and is answered from memory; the same id sent to another channel is another
 * message, and is published there instead of being answered with offsets that do not name that
 * channel (and silently delivered nowhere). Hashed, so a hundred long channel names make a short key.
 */
export function dedupKey(request: PublishRequest & { id: string }): string {
  return createHash("sha256").update(JSON.stringify([request.id, request.channels])).digest("base64url");
}
