import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import test from "node:test";
import type { ReconnectNotice } from "../../src/protocol/events.js";
import { connectSocket, subscribe } from "../helpers/clients.js";
import { connectionsHeldBy, unreadBytesHeldBy } from "../helpers/held-connections.js";
import { DEV_API_KEY, startPusher } from "../helpers/pusher.js";
import { withTimeout } from "../helpers/with-timeout.js";

test("SIGTERM drains: readyz 503, handshakes refused, clients told to reconnect in paced batches, exit 0", async (t) => {
  const host = await startPusher(t, { workers: 2, env: { PUSHER_DRAIN_RATE: "20" } });
  const clients = await Promise.all(Array.from({ length: 40 }, () => connectSocket(t, host.url, { transports: ["websocket"], reconnection: false })));
  for (const c of clients) assert.ok((await subscribe(c, "drain")).ok);
  const advice: ReconnectNotice[] = [];
  const disconnects = clients.map((c) => {
    c.on("reconnect_advice", (n) => advice.push(n));
    return new Promise<{ reason: string; at: number }>((resolve) => c.once("disconnect", (reason) => resolve({ reason, at: Date.now() })));
  });

  const signalled = Date.now();
  process.kill(host.pid, "SIGTERM");
  await host.waitForLog((l) => l.msg === "draining" && l.worker === 0);
  await host.waitForLog((l) => l.msg === "draining" && l.worker === 1);

  const ready = await fetch(`${host.url}/readyz`);
  assert.equal(ready.status, 503);
  const handshake = await fetch(`${host.url}/socket.io/?EIO=4&transport=polling`);
  assert.equal(handshake.status, 503);
  assert.equal(handshake.headers.get("retry-after"), "1");

  const gone = await Promise.all(disconnects);
  assert.ok(gone.every((g) => g.reason === "io server disconnect"));
  assert.equal(advice.length, 40);
  assert.ok(advice.every((a) => a.reason === "draining" && a.retryAfterMs >= 0 && a.retryAfterMs < 1000), JSON.stringify(advice));
  assert.ok(new Set(advice.map((a) => a.retryAfterMs)).size > 1, "the advice is jittered, so the clients do not come back at once");
  const spread = Math.max(...gone.map((g) => g.at)) - Math.min(...gone.map((g) => g.at));
  assert.ok(spread >= 500, `40 sockets at 20/s per worker are paced over about a second (spread ${spread} ms)`);
  assert.equal(await host.exited, 0);
  assert.ok(Date.now() - signalled < 10_000, "exited before shutdown.deadlineMs");
});

test("SIGTERM reaches a worker at once, even behind a backlog of socket handoffs (a starved worker), and the host exits 0", async (t) => {
  // One worker, run in 5 ms slices every 100 ms: each handoff waits for the worker's
  // acknowledgement, so the 600 connections below queue for many seconds in the primary, as they
  // did on a loaded 2-core machine in the fault bench.
  const host = await startPusher(t, { workers: 1, env: { PUSHER_SHUTDOWN_DEADLINE_MS: "4000" } });
  const worker = host.workers.get(0);
  assert.ok(worker !== undefined);
  let starving = true;
  // Ends when the worker has exited (ESRCH), or when the test ends.
  const starve = (async () => {
    while (starving) {
      process.kill(worker, "SIGSTOP");
      await sleep(95);
      process.kill(worker, "SIGCONT");
      await sleep(5);
    }
  })().catch(() => undefined);
  t.after(async () => {
    starving = false;
    await starve;
  });
  const sockets = Array.from({ length: 600 }, () => {
    const socket = net.connect(host.port, "127.0.0.1", () => socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    socket.on("error", () => undefined);
    return socket;
  });
  t.after(() => sockets.forEach((s) => s.destroy()));
  await sleep(500);

  process.kill(host.pid, "SIGTERM");
  assert.equal(await host.exited, 0, "the worker drained and stopped before shutdown.deadlineMs");
  assert.ok(!host.lines.some((l) => l.msg === "workers did not stop before the deadline; killing them"));
});

test("SIGTERM with publishes on kept-alive connections: idle ones are closed at once, the one in flight is answered (Connection: close) before the worker exits", async (t) => {
  const host = await startPusher(t, { workers: 1 });
  const worker = host.workers.get(0)!;
  const connect = async (): Promise<net.Socket> => {
    const socket = net.connect(host.port, "127.0.0.1");
    t.after(() => socket.destroy());
    socket.on("error", () => undefined);
    await once(socket, "connect");
    return socket;
  };
  const publish = (body: string): string =>
    `POST /v1/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${DEV_API_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  const answers = (socket: net.Socket): (() => string) => {
    let text = "";
    socket.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
    return () => text;
  };

  // One connection kept alive after a publish, one holding a publish whose body is half sent.
  const idle = await connect();
  const idleAnswers = answers(idle);
  const first = JSON.stringify({ channel: "drain-keepalive", event: "e", data: 1 });
  idle.write(publish(first) + first);
  while (!/\r\n\r\n\{.*\}$/s.test(idleAnswers())) await once(idle, "data");
  assert.match(idleAnswers(), /^HTTP\/1\.1 200 .*\r\nConnection: keep-alive\r\n/s);
  const held = await connect();
  const heldAnswers = answers(held);
  const second = JSON.stringify({ channel: "drain-keepalive", event: "e", data: 2 });
  held.write(publish(second) + second.slice(0, 10));
  while (connectionsHeldBy(worker, host.port) < 2 || unreadBytesHeldBy(worker, host.port) > 0) await sleep(20);

  process.kill(host.pid, "SIGTERM");
  await withTimeout(once(idle, "close"), 5000, "the idle kept-alive connection to be closed");
  held.write(second.slice(10));
  await withTimeout(once(held, "close"), 5000, "the held publish's connection to be closed after its answer");
  assert.match(heldAnswers(), /^HTTP\/1\.1 200 .*\r\nConnection: close\r\n/s, "answered 200, and told the connection closes");
  assert.equal(await host.exited, 0);
});

test("SIGTERM, then a worker dies with a socket handoff unacknowledged: the host still exits 0 at once, not at the deadline", async (t) => {
  const host = await startPusher(t, { workers: 1, env: { PUSHER_SHUTDOWN_DEADLINE_MS: "8000" } });
  const worker = host.workers.get(0)!;
  // Whether Node's cluster ever forgets such a worker depends on whether its exit or its IPC
  // channel's end is seen first (the fault bench met the bad order; this test does not force it):
  // the primary must count exited workers, whatever cluster.workers says.
  // A stopped worker acknowledges no handoff: the primary writes this connection's and waits.
  process.kill(worker, "SIGSTOP");
  const socket = net.connect(host.port, "127.0.0.1");
  t.after(() => socket.destroy());
  socket.on("error", () => undefined);
  await once(socket, "connect");
  socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  while (unreadBytesHeldBy(host.pid, host.port) > 0 || connectionsHeldBy(host.pid, host.port) === 0) await sleep(20);

  const signalled = Date.now();
  process.kill(host.pid, "SIGTERM");
  await host.waitForLog((l) => l.msg === "shutting down");
  process.kill(worker, "SIGKILL");
  assert.equal(await withTimeout(host.exited, 6000, "the host to exit"), 0);
  assert.ok(Date.now() - signalled < 4000, `exited ${Date.now() - signalled} ms after SIGTERM, not at the 8 s deadline`);
});

test("SIGTERM with a long-polling client that takes its goodbye and polls no more: the drain lets it go after the grace, not at the deadline", async (t) => {
  const host = await startPusher(t, { workers: 1, env: { PUSHER_SHUTDOWN_DEADLINE_MS: "8000" } });
  const poll = `${host.url}/socket.io/?EIO=4&transport=polling`;
  const { sid } = JSON.parse((await (await fetch(poll)).text()).slice(1)) as { sid: string };
  assert.equal(await (await fetch(`${poll}&sid=${sid}`, { method: "POST", body: "40" })).text(), "ok");
  assert.match(await (await fetch(`${poll}&sid=${sid}`)).text(), /^40/, "the namespace CONNECT is acknowledged");

  const signalled = Date.now();
  process.kill(host.pid, "SIGTERM");
  await host.waitForLog((l) => l.msg === "draining");
  // Its next poll takes the goodbye (the advice, then the disconnect). Then the client, gone to
  // another host as nginx sends it, sends nothing more, not even engine.io's close packet: the
  // session's transport waits for a request that does not come (engine.io's 30 s close timeout).
  const goodbye = await (await fetch(`${poll}&sid=${sid}`)).text();
  assert.match(goodbye, /reconnect_advice/);
  assert.match(goodbye, /\x1e41$/, "the disconnect follows the advice");
  assert.equal(await withTimeout(host.exited, 7000, "the host to exit"), 0);
  assert.ok(Date.now() - signalled < 4000, `exited ${Date.now() - signalled} ms after SIGTERM, not at the 8 s deadline`);
});
