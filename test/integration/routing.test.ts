import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import test from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { connectSocket, subscribe, type TestSocket } from "../helpers/clients.js";
import { connectionsHeldBy, unreadBytesHeldBy } from "../helpers/held-connections.js";
import { DEV_API_KEY, startPusher, type PusherHost } from "../helpers/pusher.js";
import { closed, rawConnection, trickle } from "../helpers/raw-connection.js";
import { withTimeout } from "../helpers/with-timeout.js";

/** How the primary routes connections to workers: handoff, keep-alive, timeouts, worker deaths. */

type Outcome = "ok" | "refused" | "closed" | "hung";

/** One publish on `agent`'s kept-alive connections, classified; "hung" after 15 s (the loaded test machine can be slow, a hang is for ever). */
function publishOnce(port: number, agent: http.Agent, data: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const body = JSON.stringify({ channel: "load", event: "e", data });
    const req = http.request({ port, host: "127.0.0.1", method: "POST", path: "/v1/publish", agent, headers: { authorization: `Bearer ${DEV_API_KEY}`, "content-type": "application/json", "content-length": Buffer.byteLength(body) } });
    req.setTimeout(15_000, () => {
      resolve("hung");
      req.destroy();
    });
    req.on("error", () => resolve("closed"));
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode === 200 ? "ok" : res.statusCode === 503 ? "refused" : "closed"));
      res.on("error", () => resolve("closed"));
    });
    req.end(body);
  });
}

/** Publishes from `concurrency` kept-alive connections until stopped; counts each outcome. */
function publishLoad(t: { after(fn: () => void): void }, port: number, concurrency: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let running = true;
  t.after(() => {
    running = false;
    agent.destroy();
  });
  const outcomes: Record<Outcome, number> = { ok: 0, refused: 0, closed: 0, hung: 0 };
  let n = 0;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) outcomes[await publishOnce(port, agent, n++)]++;
  });
  return {
    outcomes,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function pollingClients(t: Parameters<typeof connectSocket>[0], host: PusherHost, count: number, channel: string): Promise<TestSocket[]> {
  const clients = await Promise.all(Array.from({ length: count }, () => connectSocket(t, host.url, { transports: ["polling"], reconnection: false })));
  for (const c of clients) assert.ok((await subscribe(c, channel)).ok);
  return clients;
}

test("a worker SIGKILLed while publishes and polling requests are in flight, repeated: the primary lives, nothing hangs, its clients notice at once", { timeout: 90_000 }, async (t) => {
  const host = await startPusher(t, { workers: 2 });
  const load = publishLoad(t, host.port, 4);
  for (let round = 1; round <= 3; round++) {
    const channel = `kill-${round}`;
    const clients = await pollingClients(t, host, 10, channel);
    // The worker holding most of this round's clients (the other one is a survivor).
    const [index, pid] = [...host.workers].sort(([, a], [, b]) => connectionsHeldBy(b, host.port) - connectionsHeldBy(a, host.port))[0]!;
    const disconnected = new Set<TestSocket>();
    for (const c of clients) c.once("disconnect", () => disconnected.add(c));
    // Publishers half-way through their requests, who give up the moment the worker dies: a
    // connection the primary still tracked would make it tell the dead worker (EPIPE).
    const halfSent = await Promise.all(Array.from({ length: 8 }, () => rawConnection(t, host.port, `POST /v1/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${DEV_API_KEY}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"channel":`)));
    await sleep(300); // publishes and long-polls in flight on both workers
    process.kill(pid, "SIGKILL");
    for (const socket of halfSent) socket.destroy();
    const killed = Date.now();
    // The dead worker's long-polls are closed by the kernel with it: the clients notice now, not at their ping timeout (45 s).
    await withTimeout((async () => { while (disconnected.size === 0) await sleep(20); })(), 5000, "a client of the killed worker to notice");
    await sleep(1000);
    const received = new Set<TestSocket>();
    const marker = clients.filter((c) => !disconnected.has(c)).map((c) => new Promise<void>((resolve) => c.once("message", () => { received.add(c); resolve(); })));
    const res = await fetch(`${host.url}/v1/publish`, { method: "POST", headers: { authorization: `Bearer ${DEV_API_KEY}`, "content-type": "application/json" }, body: JSON.stringify({ channel, event: "marker", data: round }) });
    assert.equal(res.status, 200);
    await withTimeout(Promise.all(marker), 5000, "the survivors' clients to get the marker");
    assert.equal(disconnected.size + received.size, clients.length, `round ${round}: every client either noticed the kill or still receives (${Date.now() - killed} ms)`);
    for (const c of clients) c.disconnect();
    // Its respawn's line, not the first one of this slot (a slot killed twice would match that).
    await host.waitForLog((l) => l.msg === "worker ready" && l.index === index && l.workerPid !== pid && Number(l.time) >= killed);
  }
  await load.stop();
  assert.equal(load.outcomes.hung, 0, `no publish waits for the client's own timeout: ${JSON.stringify(load.outcomes)}`);
  assert.ok(load.outcomes.ok > 0, JSON.stringify(load.outcomes));
  assert.doesNotThrow(() => process.kill(host.pid, 0), "the primary survived every kill");
  assert.deepEqual(host.lines.filter((l) => l.level === 60), [], "no fatal log line");
});

test("a worker killed before acknowledging a handed connection: the primary closes that connection and the ones queued behind it", async (t) => {
  const host = await startPusher(t, { workers: 1 });
  const worker = host.workers.get(0)!;
  // A stopped worker acknowledges nothing: the primary writes the first handoff and queues the rest.
  process.kill(worker, "SIGSTOP");
  const connections = await Promise.all(Array.from({ length: 3 }, () => rawConnection(t, host.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")));
  await withTimeout(
    (async () => {
      while (connectionsHeldBy(host.pid, host.port) < connections.length || unreadBytesHeldBy(host.pid, host.port) > 0) await sleep(20);
    })(),
    5000,
    "the primary to read and route every request",
  );
  process.kill(worker, "SIGKILL");
  const killed = Date.now();
  await withTimeout(Promise.all(connections.map(closed)), 5000, "every connection routed to the dead worker to be closed");
  t.diagnostic(`closed within ${Date.now() - killed} ms of the kill`);
  assert.equal(connectionsHeldBy(host.pid, host.port), 0, "the primary holds none of them");
});

test("a connection that never finishes its request head is closed at the header timeout, on a worker or before routing, however slowly it trickles", async (t) => {
  const host = await startPusher(t, { workers: 1, env: { PUSHER_HEADERS_TIMEOUT_MS: "1000" } });
  // The request line routes it to a worker; the headers never end.
  const slow = await rawConnection(t, host.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
  // Nothing at all: the primary cannot route it.
  const silent = await rawConnection(t, host.port, "");
  // A request line trickled a byte every 200 ms (23 bytes: 4.6 s): each byte used to restart the
  // primary's timeout, so it was never closed.
  const trickled = await rawConnection(t, host.port, "");
  const line = "GET /healthz HTTP/1.1\r\n";
  const sent = trickle(t, trickled, line, 200);
  const opened = Date.now();
  await withTimeout(Promise.all([slow, silent, trickled].map(closed)), 5000, "the three connections to be closed");
  assert.ok(Date.now() - opened >= 900, "not before the timeout");
  assert.ok(sent() < line.length, `the trickled request line was cut off after ${sent()} of its ${line.length} bytes`);
  const res = await fetch(`${host.url}/healthz`);
  assert.equal(res.status, 200, "the host serves on");
});

test("a request whose body stops half-way is answered 408 and closed at the request timeout", async (t) => {
  const host = await startPusher(t, { workers: 1, env: { PUSHER_HEADERS_TIMEOUT_MS: "1000", PUSHER_REQUEST_TIMEOUT_MS: "1500" } });
  // A complete head that promises 100 bytes of body, then 11 of them and silence.
  const halfSent = await rawConnection(t, host.port, `POST /v1/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${DEV_API_KEY}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"channel":`);
  let answer = "";
  halfSent.on("data", (chunk: Buffer) => (answer += chunk.toString("latin1")));
  const opened = Date.now();
  await withTimeout(closed(halfSent), 5000, "the half-sent request to be closed");
  assert.ok(Date.now() - opened >= 1400, "not before the request timeout");
  assert.match(answer, /^HTTP\/1\.1 408 /, "the publisher is told why");
  assert.equal((await fetch(`${host.url}/healthz`)).status, 200, "the host serves on");
});

test("least-connection routing counts the connections a worker holds, not only its Socket.IO sessions", async (t) => {
  const host = await startPusher(t, { workers: 2 });
  // Unfinished requests: no session anywhere, but each holds a connection (sticky sent all of them to one worker).
  for (let i = 0; i < 10; i++) await rawConnection(t, host.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
  let held: number[] = [];
  for (let tries = 0; tries < 50; tries++) {
    held = [...host.workers.values()].map((pid) => connectionsHeldBy(pid, host.port));
    if (held[0]! + held[1]! === 10) break;
    await sleep(20);
  }
  assert.deepEqual(held, [5, 5]);
});

test("publishers keep their connection alive; Socket.IO requests close theirs", async (t) => {
  const host = await startPusher(t, { workers: 2 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const sockets = new Set<net.Socket>();
  for (let i = 0; i < 5; i++) {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const body = JSON.stringify({ channel: "keepalive", event: "e", data: i });
      const req = http.request({ port: host.port, host: "127.0.0.1", method: "POST", path: "/v1/publish", agent, headers: { authorization: `Bearer ${DEV_API_KEY}`, "content-type": "application/json" } }, resolve);
      req.on("socket", (s) => sockets.add(s));
      req.on("error", reject);
      req.end(body);
    });
    res.resume();
    await once(res, "end");
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers.connection, "keep-alive");
  }
  assert.equal(sockets.size, 1, "five publishes on one connection");
  // Node's fetch sends Sec-Fetch-Mode as browsers do, but it is a publisher: kept alive.
  const fromNode = await fetch(`${host.url}/healthz`);
  await fromNode.text();
  assert.equal(fromNode.headers.get("connection"), "keep-alive", "Node's fetch is not taken for a browser");
  const fromBrowser = await fetch(`${host.url}/healthz`, { headers: { "sec-fetch-site": "same-origin" } });
  await fromBrowser.text();
  assert.equal(fromBrowser.headers.get("connection"), "close", "a browser's connection may later carry its polling requests");
  const handshake = await fetch(`${host.url}/socket.io/?EIO=4&transport=polling`);
  await handshake.text();
  assert.equal(handshake.headers.get("connection"), "close", "a polling request's connection is not reused for another session");
});
