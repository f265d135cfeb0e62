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
  const chunks = await collectBody(req, maxBytes);
  const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString("utf8");
  if (text.trim() === "") throw new PusherError("invalid_request", "body: a JSON object is required");
  return parseBoundedJson(text, maxDepth, envelopeDepth);
}

/** Events rather than an async iterator: most publish bodies are one chunk, and this runs per request. */
function collectBody(req: IncomingMessage, maxBytes: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      req.off("data", onData);
      req.resume();
      finish(new PusherError("payload_too_large", `the body is over ${maxBytes} bytes`));
    };
    const finish = (err?: Error): void => {
      req.off("end", onEnd);
      req.off("aborted", onAborted);
      if (err) reject(err);
      else resolve(chunks);
    };
    const onEnd = (): void => finish();
    const onAborted = (): void => finish(new PusherError("invalid_request", "body: the request was aborted before it ended"));
    req.on("data", onData);
    req.once("end", onEnd);
    // Stays attached: an error after the body was read must not go unhandled (a second settle is a no-op).
    req.on("error", finish);
    req.once("aborted", onAborted);
  });
}
