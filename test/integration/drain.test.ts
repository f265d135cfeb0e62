import assert from "node:assert/strict";
import test from "node:test";
import type { ReconnectNotice } from "../../src/protocol/events.js";
import { connectSocket, subscribe } from "../helpers/clients.js";
import { startPusher } from "../helpers/pusher.js";

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
