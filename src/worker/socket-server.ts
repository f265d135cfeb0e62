import type { Server as HttpServer } from "node:http";
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
  return io;
}
