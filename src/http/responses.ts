import type { ServerResponse } from "node:http";
import { PusherError, toErrorBody } from "../protocol/errors.js";

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

/** Answers any thrown value: PusherErrors with their table status (and Retry-After), anything else as 500. */
export function sendError(res: ServerResponse, err: unknown): void {
  const status = err instanceof PusherError ? err.status : 500;
  const headers: Record<string, string> = {};
  if (err instanceof PusherError && err.retryAfter !== undefined) headers["retry-after"] = String(err.retryAfter);
  sendJson(res, status, { error: toErrorBody(err) }, headers);
}
