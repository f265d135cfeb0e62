import type { Server, Socket } from "socket.io";
import type { ClientToServerEvents, InterServerEvents, ServerToClientEvents, SocketData } from "./events.js";

/** The socket.io server and socket, typed with the protocol's events. */
export type PusherServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type PusherSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
