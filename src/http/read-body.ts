import type { IncomingMessage } from "node:http";
import { parseBoundedJson } from "../protocol/bounded-json.js";
import { PusherError } from "../protocol/errors.js";

/**
 * Reads a JSON body of at most `maxBytes` whose data nests at most `maxDepth` deep inside
 * `envelopeDepth` levels. An oversized body is refused from its Content-Length or as soon as it
 * grows past the limit, without buffering the rest; a too deep one before it is parsed.
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number, maxDepth: number, envelopeDepth: number): Promise<unknown> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) throw new PusherError("payload_too_large", `the body is ${declared} bytes; at most ${maxBytes} are accepted`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      req.resume();
      throw new PusherError("payload_too_large", `the body is over ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") throw new PusherError("invalid_request", "body: a JSON object is required");
  return parseBoundedJson(text, maxDepth, envelopeDepth);
}
