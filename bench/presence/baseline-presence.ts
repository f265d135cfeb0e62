/**
 * The presence baseline: what an operator writes today with plain Socket.IO on one process. The
 * same JWT check as pusher (jose, HS256), members in a Map (user → connections, info), one room
 * per channel, member_added/member_removed broadcast to the room, the member list in the ack. No
 * cross-process state, no limits. Prints `{"msg":"baseline presence ready","port":N}`.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { jwtVerify } from "jose";
import { Server, type Socket } from "socket.io";
import { DEV_JWT_SECRET } from "../../src/config/schema.js";

interface Member {
  id: string;
  info?: unknown;
}

const key = new TextEncoder().encode(DEV_JWT_SECRET);
const rooms = new Map<string, Map<string, { connections: number; member: Member }>>();

function join(socket: Socket, channel: string, member: Member): Member[] {
  let room = rooms.get(channel);
  if (!room) rooms.set(channel, (room = new Map()));
  const held = room.get(member.id);
  if (held) held.connections++;
  else {
    room.set(member.id, { connections: 1, member });
    socket.to(channel).emit("member_added", { channel, member });
  }
  void socket.join(channel);
  (socket.data as { joined: Map<string, string> }).joined.set(channel, member.id);
  return [...room.values()].map((m) => m.member);
}

function leave(socket: Socket, channel: string): void {
  const joined = (socket.data as { joined: Map<string, string> }).joined;
  const user = joined.get(channel);
  if (user === undefined) return;
  joined.delete(channel);
  void socket.leave(channel);
  const room = rooms.get(channel);
  const held = room?.get(user);
  if (!room || !held || --held.connections > 0) return;
  room.delete(user);
  if (room.size === 0) rooms.delete(channel);
  socket.to(channel).emit("member_removed", { channel, member: held.member });
}

const httpServer = http.createServer();
const io = new Server(httpServer, { serveClient: false });
io.on("connection", (socket) => {
  socket.data = { joined: new Map<string, string>() };
  socket.on("subscribe", async (req: { channel: string; token: string }, ack: (res: unknown) => void) => {
    try {
      const { payload } = await jwtVerify(req.token, key, { algorithms: ["HS256"] });
      if (payload.channel !== req.channel) throw new Error("forbidden");
      ack({ ok: true, epoch: "e", offset: 0, members: join(socket, req.channel, payload.user as Member) });
    } catch {
      ack({ ok: false, error: { code: "forbidden", message: "forbidden" } });
    }
  });
  socket.on("unsubscribe", (req: { channel: string }, ack: (res: unknown) => void) => {
    leave(socket, req.channel);
    ack({ ok: true });
  });
  socket.on("disconnect", () => {
    for (const channel of [...(socket.data as { joined: Map<string, string> }).joined.keys()]) leave(socket, channel);
  });
});
httpServer.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ msg: "baseline presence ready", port: (httpServer.address() as AddressInfo).port })}\n`);
});
