import { STATUS_CODES, type ServerResponse } from "node:http";
import { PusherError, toErrorBody, type ErrorCode } from "../protocol/errors.js";

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

/**
 * The same answer as sendError, written as raw bytes for a socket no HTTP server owns yet (the
 * primary before routing, a websocket upgrade refused by the worker); the connection then closes.
 */
export function rawErrorResponse(code: ErrorCode, detail?: string): string {
  const err = new PusherError(code, detail);
  const body = JSON.stringify({ error: err.toBody() });
  const retryAfter = err.retryAfter === undefined ? "" : `Retry-After: ${err.retryAfter}\r\n`;
  return (
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status]}\r\n${retryAfter}` +
    `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}
