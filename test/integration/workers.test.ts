import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import test from "node:test";
import type { SubscribeAck } from "../../src/protocol/events.js";
import type { StreamPosition } from "../../src/protocol/messages.js";
import { connectSocket, messageLog, publish, subscribe } from "../helpers/clients.js";
import { DEV_API_KEY, startPusher } from "../helpers/pusher.js";
import { withTimeout } from "../helpers/with-timeout.js";

test("a subscriber recovers every message across a worker SIGKILL, exactly once and in order", async (t) => {
  const host = await startPusher(t, { workers: 2 });
  // A slow reconnect, so that messages are published while the client is away.
  const s = await connectSocket(t, host.url, { reconnectionDelay: 1500, reconnectionDelayMax: 1500, randomizationFactor: 0 });
  const log = messageLog(s, "crash");
  let position: StreamPosition | undefined;
  s.on("message", (m) => { position = { epoch: m.epoch, offset: m.offset }; });
  const acks: SubscribeAck[] = [];
  const resubscribed = new Promise<void>((resolve) => {
    s.io.on("reconnect", async () => {
      acks.push(await subscribe(s, "crash", { since: position! }));
      resolve();
    });
  });
  assert.ok((await subscribe(s, "crash")).ok);
  for (let i = 1; i <= 5; i++) await publish(host.url, { channel: "crash", event: "e", data: i });
  await log.waitFor(5);

  const before = new Map(host.workers);
  const disconnected = new Promise((resolve) => s.once("disconnect", resolve));
  for (const pid of before.values()) process.kill(pid, "SIGKILL");
  await disconnected;
  await Promise.all([...before.keys()].map((index) => host.waitForLog((l) => l.msg === "worker ready" && l.index === index && l.workerPid !== before.get(index))));
  for (let i = 6; i <= 15; i++) {
    const res = await publish(host.url, { channel: "crash", event: "e", data: i });
    assert.equal(res.status, 200);
  }
  await resubscribed;
  for (let i = 16; i <= 20; i++) await publish(host.url, { channel: "crash", event: "e", data: i });

  const messages = await log.waitFor(20);
  assert.deepEqual(messages.map((m) => m.offset), Array.from({ length: 20 }, (_, i) => i + 1));
  assert.deepEqual(messages.map((m) => m.data), Array.from({ length: 20 }, (_, i) => i + 1));
  assert.ok(acks[0]?.ok && acks[0].recovered === true);
  assert.notEqual(host.workers.get(0), before.get(0), "worker 0 was respawned");
  assert.doesNotThrow(() => process.kill(host.pid, 0), "the primary survived its workers' deaths");
});

test("a publish held by a worker that is SIGKILLed ends at once (its connection closes), not left hanging", async (t) => {
  const host = await startPusher(t, { workers: 1 });
  // Half a body keeps the worker waiting for the rest; the connection is the worker's own.
  const body = JSON.stringify({ channel: "stranded", event: "e", data: "x".repeat(100) });
  const client = net.connect(host.port, "127.0.0.1");
  t.after(() => client.destroy());
  await once(client, "connect");
  let answer = "";
  client.setEncoding("utf8").on("data", (chunk: string) => (answer += chunk));
  client.on("error", () => undefined);
  const closed = once(client, "close");
  const head = `POST /v1/publish HTTP/1.1\r\nHost: pusher\r\nAuthorization: Bearer ${DEV_API_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
  await new Promise<void>((resolve) => client.write(head + body.slice(0, 40), () => resolve()));
  // A full request answered after it means the half request has been routed to the worker.
  assert.equal((await fetch(`${host.url}/healthz`)).status, 200);

  const killed = Date.now();
  const worker = host.workers.get(0)!;
  process.kill(worker, "SIGKILL");
  await withTimeout(closed, 5000, "the stranded publish's connection to close");
  assert.equal(answer, "", "no answer: the publisher retries with the same id (through nginx it gets a 503)");
  assert.ok(Date.now() - killed < 2000, `closed ${Date.now() - killed} ms after the kill`);

  await host.waitForLog((l) => l.msg === "worker ready" && l.index === 0 && l.workerPid !== worker);
  const retried = await publish(host.url, { channel: "stranded", event: "e", data: "retried" });
  assert.equal(retried.status, 200, "the host serves again once the worker is respawned");
});

test("long-polling clients work across several workers: no \"Session ID unknown\"", async (t) => {
  const host = await startPusher(t, { workers: 2 });
  // Handshakes in concurrent bursts are where a session could race its own binding in the primary.
  for (let round = 1; round <= 3; round++) {
    const clients = await Promise.all(Array.from({ length: 20 }, () => connectSocket(t, host.url, { transports: ["polling"], reconnection: false })));
    const drops: string[] = [];
    for (const c of clients) c.on("disconnect", (reason) => drops.push(reason));
    const logs = clients.map((c) => messageLog(c, `poll-${round}`));
    for (const c of clients) assert.ok((await subscribe(c, `poll-${round}`)).ok);
    for (let i = 1; i <= 3; i++) assert.equal((await publish(host.url, { channel: `poll-${round}`, event: "e", data: i })).status, 200);
    for (const log of logs) assert.deepEqual((await log.waitFor(3)).map((m) => m.data), [1, 2, 3]);
    assert.deepEqual(drops, []);
    assert.ok(clients.every((c) => c.io.engine.transport.name === "polling"));
    for (const c of clients) c.disconnect();
  }
});

test("a worker that crashes in a loop is given up with a clear log line, and the primary exits", async (t) => {
  // The test is the crash: it SIGKILLs every incarnation of the worker as soon as it is ready.
  const host = await startPusher(t, { workers: 1 });
  const givenUp = host.waitForLog((l) => /^worker crashes in a loop/.test(String(l.msg)), 60_000);
  const killed = new Set<number>();
  const killNext = async (): Promise<void> => {
    const ready = await host.waitForLog((l) => l.msg === "worker ready" && !killed.has(l.workerPid as number), 30_000);
    killed.add(ready.workerPid as number);
    process.kill(ready.workerPid as number, "SIGKILL");
  };
  const killing = (async () => {
    for (let i = 0; i < 6; i++) await Promise.race([killNext(), givenUp]);
  })();
  const line = await givenUp;
  await killing;
  assert.equal(line.index, 0);
  assert.equal(await host.exited, 1);
  const deaths = host.lines.filter((l) => l.msg === "worker died");
  assert.equal(deaths.length, 5);
  const delays = deaths.map((l) => l.respawnInMs as number);
  assert.deepEqual(delays, [100, 200, 400, 800, 1600], "the respawn delay starts at 100 ms and doubles per crash");
});

test("a stalled worker (SIGSTOP) is killed by the watchdog and replaced", async (t) => {
  const host = await startPusher(t, { workers: 2, env: { PUSHER_WORKER_STALL_TIMEOUT_MS: "1500" } });
  const stoppedPid = host.workers.get(0)!;
  process.kill(stoppedPid, "SIGSTOP");
  // Matched by pid: on a loaded machine the short stall timeout may already have replaced a slow-starting worker.
  const stalled = await host.waitForLog((l) => l.msg === "worker stalled; killing it" && l.workerPid === stoppedPid, 10_000);
  assert.equal(stalled.index, 0);
  await host.waitForLog((l) => l.msg === "worker ready" && l.index === 0 && l.workerPid !== stoppedPid, 10_000);
  assert.throws(() => process.kill(stoppedPid, 0), "the stopped worker is gone");
  const clients = await Promise.all(Array.from({ length: 6 }, () => connectSocket(t, host.url)));
  for (const c of clients) assert.ok((await subscribe(c, "after-stall")).ok);
});
