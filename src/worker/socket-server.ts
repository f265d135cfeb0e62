import type { IncomingMessage, Server as HttpServer } from "node:http";
import type { Duplex } from "node:stream";
import { createAdapter } from "@socket.io/cluster-adapter";
import { Server } from "socket.io";
import type { PusherConfig } from "../config/schema.js";
import type { PusherServer } from "../protocol/socket-types.js";
import { bindSessions } from "./session-binding.js";

/**
 * The worker's socket.io server: attached to an HTTP server that never listens itself (the
 * primary hands it connections, routing a session's requests here once it is bound), with the
 * cluster adapter carrying socket.io's own cross-worker operations.
 */
export function createSocketServer(httpServer: HttpServer, config: PusherConfig): PusherServer {
  const io: PusherServer = new Server(httpServer, {
    transports: config.server.transports,
    pingInterval: config.server.pingIntervalMs,
    pingTimeout: config.server.pingTimeoutMs,
    maxHttpBufferSize: config.limits.maxClientFrameBytes,
    // Delivery writes one pre-built frame to many sockets (RoomWriter): frames are never compressed.
    perMessageDeflate: false,
    serveClient: false,
    cors: { origin: config.server.corsOrigins.includes("*") ? true : config.server.corsOrigins },
  });
  io.adapter(createAdapter());
  bindSessions(io);
  answerUpgradesInOneWrite(io);
  return io;
}

type HandleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer, done: (...args: unknown[]) => void) => void;

/**
 * ws writes the 101 answer of a websocket upgrade on its own, and Engine.IO's open packet follows
 * a few microtasks later in a second write: two system calls, and two reads by the client, per
 * connection. Corking the socket until the tick's microtasks have run sends both in one write.
 * Any path that gives up on the connection ends or destroys it, which needs no uncork; an answer
 * that took longer than the tick merely leaves in two writes as before.
 */
function answerUpgradesInOneWrite(io: PusherServer): void {
  const wsServer = (io.engine as unknown as { ws?: { handleUpgrade: HandleUpgrade } }).ws;
  if (!wsServer) return; // no websocket transport configured
  const handleUpgrade = wsServer.handleUpgrade.bind(wsServer);
  wsServer.handleUpgrade = (req, socket, head, done) => {
    socket.cork();
    setImmediate(() => socket.uncork());
    handleUpgrade(req, socket, head, done);
  };
}
