import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { test, type TestContext } from "node:test";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import vm from "node:vm";
import { PusherClient, type ConnectionState, type PusherClientOptions, type ResyncEvent } from "../../src/client/index.js";
import type { Message, StreamPosition } from "../../src/protocol/messages.js";
import { nextState } from "../helpers/client-states.js";
import { publish } from "../helpers/clients.js";
import { MessageCollector } from "../helpers/message-collector.js";
import { startPusher, type PusherHost } from "../helpers/pusher.js";
import { ROOT } from "../helpers/root.js";
import { tempDir } from "../helpers/scratch.js";
import { withTimeout } from "../helpers/with-timeout.js";

/** The client helper against real servers: delivery, recovery across crashes and restarts, polling, the bundle. */


function newChannel(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** A connected client with fast test reconnects, closed by `t.after`; `states` records every transition. */
async function openClient(t: TestContext, url: string, options: PusherClientOptions = {}): Promise<{ client: PusherClient; states: ConnectionState[]; drops: string[]; errors: unknown[] }> {
  const client = new PusherClient(url, {
    ...options,
    reconnect: { defaultDelayMs: 100, jitterMs: 100, maxDelayMs: 500, ...options.reconnect },
    socketOptions: { reconnectionDelay: 100, reconnectionDelayMax: 500, ...options.socketOptions },
  });
  t.after(() => client.close());
  const states: ConnectionState[] = [];
  const drops: string[] = [];
  const errors: unknown[] = [];
  client.on("state", (state, detail) => {
    states.push(state);
    if (detail.reason !== undefined) drops.push(`${state}: ${detail.reason} ${detail.description ?? ""}`.trim());
  });
  client.on("error", (error) => errors.push(error));
  await nextState(client, "connected");
  return { client, states, drops, errors };
}

/**
 * Publishes one message and returns its position. The id makes a retry after a network error
 * (a keep-alive connection to a worker just killed) safe: the server delivers an id only once.
 */
async function publishOk(url: string, channel: string, data: unknown): Promise<StreamPosition> {
  const id = randomUUID();
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const res = await publish(url, { channel, event: "test", data, id });
      if (res.status === 503) {
        lastError = new Error(`503 ${JSON.stringify(res.body)}`);
        continue;
      }
      assert.equal(res.status, 200, `publish answered ${res.status} ${JSON.stringify(res.body)}`);
      const position = res.body.offsets[channel] as StreamPosition;
      assert.equal(typeof position.epoch, "string");
      assert.equal(typeof position.offset, "number");
      return position;
    } catch (err) {
      if (err instanceof assert.AssertionError) throw err;
      lastError = err;
    }
  }
  throw new Error(`publish kept failing: ${String(lastError)}`);
}

/** Waits until the primary announced every worker, so `host.workers` is complete. */
async function allWorkersReady(host: PusherHost, count: number): Promise<void> {
  for (let index = 0; index < count; index++) {
    await host.waitForLog((l) => l.msg === "worker ready" && l.index === index, 15_000);
  }
}

/**
 * SIGKILLs workers one at a time until the client loses its connection; returns the pid killed
 * last. A worker that did not hold the client is simply respawned by the primary; its new "worker
 * ready" line says so, and then the next one is tried.
 */
async function killWorkerHolding(host: PusherHost, client: PusherClient): Promise<number> {
  const disconnected = nextState(client, "disconnected", 60_000).then(() => "disconnected" as const);
  disconnected.catch(() => undefined);
  for (const [index, pid] of [...host.workers]) {
    process.kill(pid, "SIGKILL");
    const respawned = host
      .waitForLog((l) => l.msg === "worker ready" && l.index === index && l.workerPid !== pid, 30_000)
      .then(() => "respawned" as const);
    respawned.catch(() => undefined);
    if ((await Promise.race([disconnected, respawned])) === "disconnected") return pid;
  }
  throw new Error("killed every worker once and the client never disconnected");
}

/** Subscribes a new channel with resync tracking and delivers three messages through it. */
async function subscribeWithTraffic(client: PusherClient, url: string, prefix: string) {
  const channel = newChannel(prefix);
  const inbox = new MessageCollector();
  const resyncs: ResyncEvent[] = [];
  const sub = client.subscribe(channel, inbox.add, { onResync: (e) => resyncs.push(e) });
  await withTimeout(sub.ready, 10_000, "subscribe ack");
  const published: StreamPosition[] = [];
  for (let i = 0; i < 3; i++) published.push(await publishOk(url, channel, { phase: "before", i }));
  await inbox.waitFor(3);
  return { channel, inbox, resyncs, sub, published };
}

/** The offsets a handler saw must be exactly the published ones: each once, in order, one epoch. */
function assertExactlyOnceInOrder(received: Message[], published: StreamPosition[]): void {
  const epochs = new Set(published.map((p) => p.epoch));
  assert.equal(epochs.size, 1, "all publishes landed in one epoch");
  assert.deepEqual(
    received.map((m) => `${m.epoch}:${m.offset}`),
    published.map((p) => `${p.epoch}:${p.offset}`),
    "the handler saw every published offset once, in order",
  );
  const first = published[0]!.offset;
  assert.deepEqual(received.map((m) => m.offset), published.map((_, i) => first + i), "offsets are contiguous");
}

test("subscribe, then receive a published message with its epoch and offset", { timeout: 60_000 }, async (t) => {
  const host = await startPusher(t, { workers: 1 });
  const { client } = await openClient(t, host.url);
  const channel = newChannel("client-basic");
  const inbox = new MessageCollector();
  const sub = client.subscribe(channel, inbox.add);
  assert.equal(sub.channel, channel);

  const ack = await withTimeout(sub.ready, 10_000, "subscribe ack");
  assert.equal(ack.ok, true);
  assert.deepEqual(sub.position, { epoch: ack.epoch, offset: ack.offset }, "a fresh subscription starts at the head");

  const published = await publishOk(host.url, channel, { hello: "world" });
  const [message] = await inbox.waitFor(1);
  assert.equal(message!.channel, channel);
  assert.equal(message!.event, "test");
  assert.deepEqual(message!.data, { hello: "world" });
  assert.equal(message!.epoch, published.epoch);
  assert.equal(message!.offset, published.offset);
  assert.equal(message!.epoch, ack.epoch);
  assert.equal(message!.offset, ack.offset + 1, "the first message after the ack follows the head");
  assert.equal(typeof message!.ts, "number");
  assert.deepEqual(sub.position, published, "the position follows delivered messages");
});

test("recovery across a worker crash: every offset exactly once, in order", { timeout: 120_000 }, async (t) => {
  const host = await startPusher(t, { workers: 2 });
  await allWorkersReady(host, 2);
  // A fixed 1 s reconnect delay leaves a window in which publishes certainly miss the client.
  const { client, states } = await openClient(t, host.url, {
    socketOptions: { reconnectionDelay: 1000, reconnectionDelayMax: 1000, randomizationFactor: 0 },
  });
  const { channel, inbox, resyncs, sub, published } = await subscribeWithTraffic(client, host.url, "client-crash");
  const idBefore = client.id;

  const reconnected = nextState(client, "connected", 60_000);
  reconnected.catch(() => undefined);
  const killed = await killWorkerHolding(host, client);
  assert.ok(killed > 0);

  let missedWhileDisconnected = 0;
  for (let i = 0; i < 10; i++) {
    published.push(await publishOk(host.url, channel, { phase: "outage", i }));
    if (client.state !== "connected") missedWhileDisconnected++;
  }
  assert.ok(missedWhileDisconnected > 0, "some publishes completed while the client was disconnected");

  await reconnected;
  assert.notEqual(client.id, idBefore, "the client is on a new connection");
  await inbox.waitFor(published.length, 20_000);

  // Live traffic after the recovery: also proves no duplicate slipped in before it.
  for (let i = 0; i < 3; i++) published.push(await publishOk(host.url, channel, { phase: "after", i }));
  await inbox.waitFor(published.length);

  assertExactlyOnceInOrder(inbox.messages, published);
  assert.deepEqual(resyncs, [], "nothing was missed, so the application was not told to resync");
  assert.deepEqual(sub.position, published.at(-1));
  assert.ok(states.includes("disconnected") && states.at(-1) === "connected", `states: ${states.join(",")}`);
});

test("recovery when every worker dies at once", { timeout: 120_000 }, async (t) => {
  const host = await startPusher(t, { workers: 2 });
  await allWorkersReady(host, 2);
  const { client } = await openClient(t, host.url);
  const { channel, inbox, resyncs, published } = await subscribeWithTraffic(client, host.url, "client-all-dead");

  const disconnected = nextState(client, "disconnected", 30_000);
  const old = [...host.workers];
  for (const [, pid] of old) process.kill(pid, "SIGKILL");
  await disconnected;
  // Publish once the primary has replaced both workers (the embedded broker lives in the primary,
  // so the channel's history survives the workers).
  for (const [index, pid] of old) {
    await host.waitForLog((l) => l.msg === "worker ready" && l.index === index && l.workerPid !== pid, 30_000);
  }
  for (let i = 0; i < 5; i++) published.push(await publishOk(host.url, channel, { phase: "after-crash", i }));
  await inbox.waitFor(published.length, 30_000);
  published.push(await publishOk(host.url, channel, { phase: "live" }));
  await inbox.waitFor(published.length);

  assertExactlyOnceInOrder(inbox.messages, published);
  assert.deepEqual(resyncs, []);
});

test("polling-only clients work across 2 workers (sticky sessions hold)", { timeout: 60_000 }, async (t) => {
  const host = await startPusher(t, { workers: 2 });
  await allWorkersReady(host, 2);
  const channel = newChannel("client-polling");
  // Many clients connecting at once: the primary spreads them over both workers, and a handshake
  // whose next poll reaches the other worker fails with "Session ID unknown".
  const clients = await Promise.all(
    Array.from({ length: 16 }, () => openClient(t, host.url, { transports: ["polling"] })),
  );
  const inboxes = clients.map(() => new MessageCollector());
  const subs = clients.map(({ client }, i) => client.subscribe(channel, inboxes[i]!.add));
  await withTimeout(Promise.all(subs.map((s) => s.ready)), 10_000, "subscribe acks");

  // Each message waits for the previous one to reach everyone: several long-poll cycles per client.
  const published: StreamPosition[] = [];
  for (let i = 0; i < 4; i++) {
    published.push(await publishOk(host.url, channel, { i }));
    await Promise.all(inboxes.map((inbox) => inbox.waitFor(published.length)));
  }
  for (const [i, { client, states, drops, errors }] of clients.entries()) {
    assertExactlyOnceInOrder(inboxes[i]!.messages, published);
    // "Session ID unknown" (a poll routed to the wrong worker) shows up as a dropped connection.
    assert.deepEqual(states, ["connected"], `client ${i} never lost its session; drops: ${drops.join("; ")}`);
    assert.deepEqual(errors, []);
    assert.equal(client.state, "connected");
  }
});

test("a restarted server (new epochs) tells the application through onResync", { timeout: 120_000 }, async (t) => {
  const first = await startPusher(t, { workers: 1 });
  const { client } = await openClient(t, first.url);
  const channel = newChannel("client-restart");
  const inbox = new MessageCollector();
  const resyncs: ResyncEvent[] = [];
  let resolveResync!: (e: ResyncEvent) => void;
  const firstResync = new Promise<ResyncEvent>((resolve) => { resolveResync = resolve; });
  const sub = client.subscribe(channel, inbox.add, { onResync: (e) => { resyncs.push(e); resolveResync(e); } });
  await withTimeout(sub.ready, 10_000, "subscribe ack");
  await publishOk(first.url, channel, { n: 1 });
  const before = await publishOk(first.url, channel, { n: 2 });
  await inbox.waitFor(2);
  assert.deepEqual(sub.position, before);

  const disconnected = nextState(client, "disconnected", 30_000);
  const reconnecting = nextState(client, "reconnecting", 30_000);
  await first.stop();
  await disconnected;
  // A draining server advises a pause before it hangs up; socket.io would not come back by
  // itself after that hang-up, so the helper schedules the reconnect, following the advice.
  const advised = await reconnecting;
  assert.equal(advised.reason, "draining");
  assert.equal(typeof advised.retryInMs, "number");
  // Same port, so the client's own reconnects reach the new primary.
  const second = await startPusher(t, { workers: 1, port: first.port });

  const resync = await withTimeout(firstResync, 30_000, "onResync after the restart");
  assert.equal(resync.channel, channel);
  assert.deepEqual(resync.previous, before, "the notice says where the client stood");
  assert.notEqual(resync.epoch, before.epoch, "a new primary means a new epoch");
  assert.deepEqual(sub.position, { epoch: resync.epoch, offset: resync.offset });

  const after = await publishOk(second.url, channel, { n: 3 });
  assert.equal(after.epoch, resync.epoch);
  const messages = await inbox.waitFor(3);
  assert.equal(messages[2]!.epoch, resync.epoch);
  assert.equal(messages[2]!.offset, resync.offset + 1, "the stream continues from the resync point");
  assert.equal(resyncs.length, 1, "one loss, one notice");
});

test("subscribing with a since of an unknown epoch calls onResync", { timeout: 60_000 }, async (t) => {
  const host = await startPusher(t, { workers: 1 });
  const { client } = await openClient(t, host.url);
  const channel = newChannel("client-unknown-epoch");
  const since = { epoch: "no-such-epoch", offset: 41 };
  const inbox = new MessageCollector();
  let resolveResync!: (e: ResyncEvent) => void;
  const resynced = new Promise<ResyncEvent>((resolve) => { resolveResync = resolve; });
  const sub = client.subscribe(channel, inbox.add, { since, onResync: resolveResync });

  const ack = await withTimeout(sub.ready, 10_000, "subscribe ack");
  assert.equal(ack.ok, true);
  const resync = await withTimeout(resynced, 10_000, "onResync");
  assert.deepEqual(resync.previous, since);
  assert.notEqual(resync.epoch, since.epoch);
  assert.notEqual(sub.position?.epoch, since.epoch);

  const published = await publishOk(host.url, channel, { after: "resync" });
  const [message] = await inbox.waitFor(1);
  assert.deepEqual({ epoch: message!.epoch, offset: message!.offset }, published);
});

test("the browser bundle builds and defines the PusherClient global", { timeout: 60_000 }, async (t) => {
  const outdir = await tempDir(t, "pusher-client-bundle-");
  await promisify(execFile)(process.execPath, [path.join(ROOT, "scripts/build-client.mjs"), "--outdir", outdir], { cwd: ROOT });

  const iife = path.join(outdir, "pusher-client.js");
  for (const file of ["pusher-client.js", "pusher-client.js.map", "pusher-client.mjs", "pusher-client.mjs.map"]) {
    assert.ok(statSync(path.join(outdir, file)).size > 0, `${file} is written`);
  }
  const code = readFileSync(iife, "utf8");
  assert.doesNotMatch(code, /require\(["'](?:node:)?(?:http|https|net|tls|fs|events|crypto)["']\)/, "no Node built-ins in the browser bundle");

  // A bare browser-like global: timers as every browser has them, but no Node `require`,
  // `process` or `Buffer` to lean on.
  const sandbox: Record<string, unknown> = { setTimeout, clearTimeout };
  sandbox.self = sandbox;
  sandbox.window = sandbox;
  const context = vm.createContext(sandbox);
  vm.runInContext(code, context, { filename: iife });
  assert.equal(typeof sandbox.PusherClient, "function", "the script defines the global class");
  const probeJson = vm.runInContext(
    `(() => {
      const client = new PusherClient("http://127.0.0.1:9", { socketOptions: { autoConnect: false } });
      const sub = client.subscribe("bundle-probe", () => {});
      let invalid = "";
      try { client.subscribe("bad channel!", () => {}); } catch (e) { invalid = e.name; }
      const methods = ["subscribe", "close", "connect", "on"].map((m) => typeof client[m]);
      return JSON.stringify({ state: client.state, channel: sub.channel, position: String(sub.position), invalid, methods });
    })()`,
    context,
  ) as string;
  // Through JSON: objects made in the sandbox have the sandbox's prototypes, which deepEqual rejects.
  const probe = JSON.parse(probeJson) as { state: string; channel: string; position: string; invalid: string; methods: string[] };
  assert.equal(probe.state, "closed");
  assert.equal(probe.channel, "bundle-probe");
  assert.equal(probe.position, "undefined");
  assert.equal(probe.invalid, "TypeError");
  assert.deepEqual(probe.methods, ["function", "function", "function", "function"]);

  const esm = (await import(pathToFileURL(path.join(outdir, "pusher-client.mjs")).href)) as Record<string, unknown>;
  assert.equal(typeof esm.PusherClient, "function", "the ES module exports the class");
  assert.equal(typeof esm.ChannelPosition, "function");
});
