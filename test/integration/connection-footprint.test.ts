import test from "node:test";
import assert from "node:assert/strict";
import http, { type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Server } from "socket.io";
import type { PusherServer, PusherSocket } from "../../src/protocol/socket-types.js";
import { releaseOpeningRequests } from "../../src/worker/connection-footprint.js";
import { connectSocket } from "../helpers/clients.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** A socket.io server with pusher's release in place; hands back each opening request (weakly) and each socket. */
async function footprintServer(t: test.TestContext): Promise<{ url: string; requests: WeakRef<IncomingMessage>[]; sockets: PusherSocket[] }> {
  const httpServer = http.createServer();
  const io: PusherServer = new Server(httpServer, { perMessageDeflate: false, serveClient: false, cors: { origin: true } });
  const requests: WeakRef<IncomingMessage>[] = [];
  const sockets: PusherSocket[] = [];
  io.engine.on("connection", (conn: { request: IncomingMessage }) => requests.push(new WeakRef(conn.request)));
  releaseOpeningRequests(io);
  io.on("connection", (socket) => sockets.push(socket));
  await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  t.after(() => io.close());
  return { url: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`, requests, sockets };
}

async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 20 && ref.deref() !== undefined; i++) {
    await sleep(10);
    gc();
  }
  return ref.deref() === undefined;
}

for (const transports of [["websocket"], ["polling", "websocket"], ["polling"]]) {
  test(`a connected socket keeps its auth but not its opening request (${transports.join(" then ")})`, async (t) => {
    const server = await footprintServer(t);
    const client = await connectSocket(t, server.url, { transports, auth: { token: "a-token" } });
    await sleep(50);
    const socket = server.sockets[0]!;
    assert.deepEqual(socket.handshake.auth, { token: "a-token" }, "the connection token stays readable");
    assert.deepEqual(socket.handshake.headers, {});
    assert.ok(await collected(server.requests[0]!), "the opening request was collected while the socket stays connected");
    // Still a working connection, whichever transport it ended on.
    const echoed = new Promise((resolve) => client.once("message" as never, resolve));
    socket.emit("message", { channel: "c", event: "e", data: 1, epoch: "x", offset: 1, ts: 0 });
    assert.ok(await echoed);
    assert.ok(socket.connected);
  });
}
