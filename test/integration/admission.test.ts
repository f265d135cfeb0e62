import assert from "node:assert/strict";
import test from "node:test";
import { io } from "socket.io-client";
import { startPusher } from "../helpers/pusher.js";

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
