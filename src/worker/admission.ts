import { ServerResponse, type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { ExtendedError } from "socket.io";
import { rawErrorResponse, sendError } from "../http/responses.js";
import { errorTable, PusherError, retryAfterOf, type ErrorCode } from "../protocol/errors.js";
import type { PacedRate } from "../ops/rate-limit.js";
import type { PusherServer, PusherSocket } from "../protocol/socket-types.js";

export interface AdmissionDeps {
  isDraining(): boolean;
  /** New connections are paced through it; refused only when its queue is full. */
  connectionPacer: PacedRate;
  maxConnections: number;
  /** Engine.IO connections this worker holds (handshaken, whether or not they joined a namespace). */
  connectionCount(): number;
  onReject(reason: ErrorCode): void;
}

/**
 * The client sees `connect_error` with `err.data.code` from the error table and `retryAfterMs`
 * (the table's Retry-After); the client helper adds its own jitter.
 */
function refusal(code: ErrorCode, message: string = errorTable[code].message): ExtendedError {
  const err = new Error(message) as ExtendedError;
  err.data = { code, retryAfterMs: (retryAfterOf(code) ?? 0) * 1000 };
  return err;
}

/**
 * Turns new Engine.IO handshakes (requests without a session id, polling or websocket) away with
 * HTTP 503 + Retry-After while the worker drains or holds limits.maxConnections. An HTTP status,
 * not a Socket.IO error, because nginx acts on it: `proxy_next_upstream http_503` hands the
 * handshake to another host, and a client's own retry lands elsewhere. Sessions already open keep
 * working.
 */
export function refuseHandshakes(io: PusherServer, deps: AdmissionDeps): void {
  io.engine.use((req: IncomingMessage, res: ServerResponse | { socket: Duplex }, next: (err?: Error) => void) => {
    if (new URL(req.url ?? "/", "http://pusher").searchParams.has("sid")) return next();
    const code: ErrorCode | undefined = deps.isDraining()
      ? "draining"
      : deps.maxConnections > 0 && deps.connectionCount() >= deps.maxConnections
        ? "too_many_connections"
        : undefined;
    if (code === undefined) return next();
    deps.onReject(code);
    if (res instanceof ServerResponse) {
      sendError(res, new PusherError(code));
    } else {
      // A websocket upgrade: engine.io hands middlewares a stand-in response; answer on the raw socket.
      // Node leaves an upgrade's socket without an error listener: a client that reset it would
      // kill the worker with ECONNRESET (test/integration/admission-reset.test.ts).
      res.socket.once("error", () => res.socket.destroy());
      res.socket.end(rawErrorResponse(code));
    }
  });
}

/**
 * Socket.IO middleware that paces new connections to limits.connectionRatePerSecond, refusing
 * only beyond limits.connectionQueueSeconds of backlog, so a reconnect storm is spread over
 * seconds instead of bounced; and refuses connections that arrive once draining has begun.
 */
export function paceConnections(deps: AdmissionDeps) {
  return (_socket: PusherSocket, next: (err?: ExtendedError) => void): void => {
    const refuse = (code: ErrorCode, message?: string): void => {
      deps.onReject(code);
      next(refusal(code, message));
    };
    if (deps.isDraining()) return refuse("draining");
    deps.connectionPacer.take().then(
      () => next(),
      (err: Error) => refuse("rate_limited", err.message),
    );
  };
}
