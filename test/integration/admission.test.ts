import assert from "node:assert/strict";
import test from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { io } from "socket.io-client";
import { PusherClient } from "../../src/client/index.js";
import { retryUntil } from "../../src/redis-client/retry-until.js";
import { connectSocket } from "../helpers/clients.js";
import { startPusher } from "../helpers/pusher.js";
import { withTimeout } from "../helpers/with-timeout.js";

type Outcome = { ok: true; at: number } | { ok: false; code: unknown };

/** Opens `count` plain socket.io clients at once (no retries of their own) and reports each outcome. */
async function burst(url: string, count: number): Promise<Outcome[]> {
  const started = Date.now();
  return Promise.all(
    Array.from({ length: count }, () => {
      const socket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true });
      return new Promise<Outcome>((resolve) => {
        socket.once("connect", () => resolve({ ok: true, at: Date.now() - started }));
        socket.once("connect_error", (err) => resolve({ ok: false, code: (err as { data?: { code?: unknown } }).data?.code }));
      }).finally(() => socket.disconnect());
    }),
  );
}

test("a connection burst above the admission rate is paced, not refused", async (t) => {
  const host = await startPusher(t, { workers: 1, env: { PUSHER_CONNECTION_RATE_PER_SECOND: "100" } });
  const outcomes = await burst(host.url, 250);
  assert.deepEqual(outcomes.filter((o) => !o.ok), [], "every client got in");
  const last = Math.max(...outcomes.map((o) => (o.ok ? o.at : 0)));
  assert.ok(last >= 1000, `250 connections at 100/s take more than a second (took ${last} ms)`);
});

test("beyond the admission queue, connections are refused with rate_limited", async (t) => {
  const host = await startPusher(t, { workers: 1, env: { PUSHER_CONNECTION_RATE_PER_SECOND: "20", PUSHER_CONNECTION_QUEUE_SECONDS: "1" } });
  const outcomes = await burst(host.url, 120);
  const refused = outcomes.filter((o) => !o.ok);
  assert.ok(refused.length >= 40, `${refused.length} of 120 refused`);
  assert.ok(refused.every((o) => o.code === "rate_limited"));
  const metrics = await (await fetch(`${host.url}/metrics`)).text();
  assert.match(metrics, /^pusher_rejected_connections_total\{reason="rate_limited"\} [1-9]/m);
});

test("at limits.maxConnections new handshakes get 503 too_many_connections with Retry-After, and a freed slot admits again", async (t) => {
  const host = await startPusher(t, { workers: 1, env: { PUSHER_MAX_CONNECTIONS: "5" } });
  const held = await Promise.all(Array.from({ length: 5 }, () => connectSocket(t, host.url, { transports: ["websocket"] })));

  // HTTP 503, not a Socket.IO error, so nginx passes the handshake to another host.
  const polling = await fetch(`${host.url}/socket.io/?EIO=4&transport=polling`);
  assert.equal(polling.status, 503);
  assert.equal(polling.headers.get("retry-after"), "1");
  assert.equal(((await polling.json()) as { error: { code: string } }).error.code, "too_many_connections");
  const [websocket] = await burst(host.url, 1);
  assert.equal(websocket!.ok, false, "a websocket handshake is refused too");

  held[0]!.disconnect();
  const admitted = await retryUntil(() => connectSocket(t, host.url, { transports: ["websocket"] }), { timeoutMs: 5000, intervalMs: 100 });
  assert.ok(admitted.connected, "a slot freed by a disconnect admits a new client");
  const metrics = await (await fetch(`${host.url}/metrics`)).text();
  assert.match(metrics, /^pusher_rejected_connections_total\{reason="too_many_connections"\} ([2-9]|\d\d+)/m);
});

test("a reconnect storm is absorbed: every client helper gets in, the host keeps answering, no worker dies", async (t) => {
  const host = await startPusher(t, { workers: 2, env: { PUSHER_CONNECTION_RATE_PER_SECOND: "50", PUSHER_CONNECTION_QUEUE_SECONDS: "1" } });
  const count = 500;
  const started = Date.now();
  const clients = Array.from({ length: count }, () => new PusherClient(host.url, { transports: ["websocket"], reconnect: { defaultDelayMs: 500, jitterMs: 1000 } }));
  t.after(() => clients.forEach((c) => c.close()));
  // Refusals are reported as errors; the helper retries them by itself.
  const refusals: unknown[] = [];
  for (const c of clients) c.on("error", (err) => refusals.push(err));
  const probes: number[] = [];
  const probing = (async () => {
    while (clients.some((c) => c.state !== "connected") && Date.now() - started < 30_000) {
      const sent = Date.now();
      const res = await fetch(`${host.url}/healthz`).catch((err: Error) => ({ status: err.message }));
      probes.push(res.status === 200 ? Date.now() - sent : Infinity);
      await delay(100);
    }
  })();
  await withTimeout(
    Promise.all(clients.map((c) => (c.state === "connected" ? undefined : new Promise<void>((resolve) => c.on("state", (s) => s === "connected" && resolve()))))),
    30_000,
    "every client to connect",
  );
  await probing;
  const took = Date.now() - started;
  const metrics = await (await fetch(`${host.url}/metrics`)).text();
  const refused = Number(/^pusher_rejected_connections_total\{reason="rate_limited"\} (\d+)/m.exec(metrics)?.[1] ?? 0);
  assert.ok(refused > 0 && refusals.length > 0, "the storm overflowed the admission queue, and the refused clients came back");
  assert.match(metrics, /^pusher_connections \d+/m);
  assert.equal(Number(/^pusher_connections (\d+)/m.exec(metrics)?.[1]), count, "all connected at once");
  assert.ok(took >= 2000, `${count} connections at 2 × 50/s take seconds, not an instant (took ${took} ms)`);
  // The probe shares 2 cores with the host and 500 handshaking clients: this bounds a stall, not latency.
  assert.ok(Math.max(...probes) < 5000, `/healthz kept answering throughout (slowest ${Math.max(...probes)} ms)`);
  assert.equal(host.lines.filter((l) => l.msg === "worker died").length, 0);
});
