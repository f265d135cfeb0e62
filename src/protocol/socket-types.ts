import type { Server, Socket } from "socket.io";
import type { ClientToServerEvents, InterServerEvents, ServerToClientEvents, SocketData } from "./events.js";

/** The socket.io server and socket, typed with the protocol's events. */
export type PusherServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type PusherSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** Records that the connection belongs to `user` (what POST /v1/users/:id/disconnect matches). */
export function addUser(socket: PusherSocket, user: string): void {
  // Allocated on the first user: most connections carry none, and each Set is kept while connected.
  (socket.data.users ??= new Set()).add(user);
}
