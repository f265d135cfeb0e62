import { ServerResponse, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import type { ParsedUrlQuery } from "node:querystring";
import type { PusherServer, PusherSocket } from "../protocol/socket-types.js";

/** Stands in for every connection's dropped headers and query: nothing reads them, nothing may add to them. */
const NO_HEADERS: IncomingHttpHeaders = Object.freeze({});
const NO_QUERY: ParsedUrlQuery = Object.freeze({});

/**
 * Lets a connection's opening HTTP request be collected once the socket has joined the namespace:
 * its headers (and their raw copy), its parsed URL, its stream state, and for a long-polling
 * session the closed TCP socket of its first request. Pusher reads only `handshake.auth` (the
 * connection token) after that; nothing in pusher, socket.io or engine.io reads the request again
 * (a polling transport is given each later request as it comes). Three references keep it:
 *
 * - engine.io's socket (`conn.request`, what socket.io's `socket.request` returns);
 * - socket.io's `handshake`, whose `headers` and `query` are the request's own objects;
 * - on a websocket upgrade, the stand-in response engine.io gives middlewares: its request field,
 *   reachable from the close listener it leaves on the TCP socket for the connection's life.
 *   Dropping the other two alone moved nothing (docs/benchmarks.md) because of this one.
 *
 * Register after every other engine.io middleware: none after this one may set a response header
 * on an upgrade (engine.io's own CORS middleware runs first, its headers are kept on the request
 * until ws writes the 101 answer).
 */
export function releaseOpeningRequests(io: PusherServer): void {
  io.engine.use((_req: IncomingMessage, res: ServerResponse | { req?: IncomingMessage }, next: () => void) => {
    if (!(res instanceof ServerResponse)) res.req = undefined;
    next();
  });
  io.on("connection", releaseHandshake);
}

function releaseHandshake(socket: PusherSocket): void {
  (socket.conn as { request?: IncomingMessage }).request = undefined;
  const { handshake } = socket;
  handshake.headers = NO_HEADERS;
  handshake.query = NO_QUERY;
  handshake.url = "";
  // A 60-character date string per connection; `issued` holds the same instant.
  handshake.time = "";
}
