import type { Server, ServerResponse } from "node:http";
import { Socket } from "node:net";
import { isPrimaryToWorker, type WorkerToPrimary } from "../ipc/control.js";

export interface IntakeTimeouts {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

// How often Node's own checker looks for requests past their header or request timeout.
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/**
 * Serves the connections the primary hands over (ConnectionRouter): each arrives as a socket with
 * the bytes the primary read to route it, and is fed to the HTTP server as if it had accepted it.
 * Every socket's close is reported back (batched per tick), so least-connection routing counts
 * what this worker really holds.
 */
export function acceptHandedConnections(httpServer: Server, send: (message: WorkerToPrimary) => void): void {
  let closed = 0;
  const report = (): void => {
    const count = closed;
    closed = 0;
    send({ t: "conn:closed", count });
  };
  const onClosed = (): void => {
    if (closed++ === 0) setImmediate(report);
  };
  process.on("message", (message: unknown, handle: unknown) => {
    if (!isPrimaryToWorker(message) || message.t !== "conn:handoff") return;
    // The client went away while its socket was on its way here: nothing to serve, one less held.
    if (!(handle instanceof Socket)) return onClosed();
    handle.once("close", onClosed);
    httpServer.emit("connection", handle);
    const { head } = message;
    handle.unshift(Buffer.isBuffer(head) ? head : Buffer.from(head.buffer, head.byteOffset, head.byteLength));
  });
}

/**
 * Header, request and keep-alive timeouts on every connection this worker holds. Node enforces
 * headersTimeout and requestTimeout from a checker it starts only when a server emits
 * "listening", and a worker's server never listens (the primary owns the port): without this a
 * client that never finishes its headers holds its connection for good. Call before socket.io
 * attaches, so only Node's own listener hears this "listening".
 */
export function enforceTimeouts(httpServer: Server, timeouts: IntakeTimeouts): void {
  const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs } = timeouts;
  // Node refuses a header timeout above the request timeout.
  httpServer.headersTimeout = requestTimeoutMs > 0 ? Math.min(headersTimeoutMs, requestTimeoutMs) : headersTimeoutMs;
  httpServer.requestTimeout = requestTimeoutMs;
  httpServer.keepAliveTimeout = keepAliveTimeoutMs;
  (httpServer as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = TIMEOUT_CHECK_INTERVAL_MS;
  httpServer.emit("listening");
}

export interface KeepAlive {
  /** From now on every answer closes its connection, and idle connections are closed now (the host drains). */
  stop(): void;
  /** Resolves once no request that changes something (a publish) is in flight, or at `deadline` (Date.now() ms). */
  settled(deadline: number): Promise<void>;
}

/**
 * Keeps a connection alive only where that is safe: not for Socket.IO requests, and not for
 * browsers. A connection is routed once, by its first request; a later request on it that names a
 * session held by another worker would get "Session ID unknown". Socket.IO clients open a new
 * connection per polling request once told to close; a browser could send its polling requests
 * on a connection it kept alive from a page or API call (the console publishes from the page), so
 * browsers are not kept alive either. A browser sends Origin (every POST and cross-origin request)
 * or Sec-Fetch-Site (every request, where it sends Fetch metadata); Sec-Fetch-Mode alone does not
 * tell, since Node's own fetch sends it too, and Node backends are the publishers keep-alive is
 * for. Publishers and health checks are kept alive, which is what makes single publishes fast.
 *
 * A draining worker keeps none: nginx (its /v1/ upstream keeps connections) and publishers then
 * open their next connection, which the primary routes elsewhere once this worker has gone,
 * instead of sending a publish on a connection the worker is about to close with it unanswered.
 */
export function limitKeepAlive(httpServer: Server, socketIoPath: string): KeepAlive {
  const prefix = `${socketIoPath.replace(/\/$/, "")}/`;
  let stopped = false;
  const inFlight = new Set<ServerResponse>();
  let onSettled: (() => void) | undefined;
  httpServer.prependListener("request", (req, res) => {
    const socketIo = req.url?.startsWith(prefix) === true;
    const fromBrowser = req.headers.origin !== undefined || req.headers["sec-fetch-site"] !== undefined;
    if (stopped || fromBrowser || socketIo) res.setHeader("Connection", "close");
    // Only requests that change something (publishes) are waited for: long-polls are Socket.IO's
    // to end (the socket drain), and a GET cut at exit (health, metrics, channel state) is retried
    // by nginx or its client. A /metrics request waits for every worker's figures, and held one
    // drain until the deadline in the fault bench.
    if (socketIo || req.method === "GET" || req.method === "HEAD") return;
    inFlight.add(res);
    res.once("close", () => {
      inFlight.delete(res);
      if (inFlight.size === 0) onSettled?.();
    });
  });
  return {
    stop() {
      stopped = true;
      // Requests already taken are answered, on a connection that then closes.
      for (const res of inFlight) if (!res.headersSent) res.setHeader("Connection", "close");
      httpServer.closeIdleConnections();
    },
    async settled(deadline) {
      if (inFlight.size === 0) return;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        onSettled = resolve;
        timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      });
      clearTimeout(timer);
      onSettled = undefined;
    },
  };
}
