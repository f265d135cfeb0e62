import assert from "node:assert/strict";
import test from "node:test";
import { connectSocket, messageLog, postJson, subscribe } from "../helpers/clients.js";
import { startPusher } from "../helpers/pusher.js";
import { stalledSubscriber } from "../helpers/stalled-subscriber.js";

test("a socket that stops reading is cut off; readers on the same channel get everything", async (t) => {
  const host = await startPusher(t, { workers: 1, env: { PUSHER_MAX_QUEUED_MESSAGES_PER_SOCKET: "50" } });
  const stalled = await stalledSubscriber(host.port, "flood");
  t.after(() => stalled.terminate());
  const reader = await connectSocket(t, host.url, { transports: ["websocket"] });
  const log = messageLog(reader, "flood");
  assert.ok((await subscribe(reader, "flood")).ok);

  // ~24 MB: more than loopback socket buffers absorb, so the stalled socket's queue must grow.
  const data = "x".repeat(60_000);
  for (let batch = 0; batch < 20; batch++) {
    const res = await postJson(host.url, "/v1/batch", { messages: Array.from({ length: 20 }, () => ({ channel: "flood", event: "e", data })) });
    assert.equal(res.status, 200);
  }
  const cut = await host.waitForLog((l) => l.msg === "socket cut off: it does not read its messages", 20_000);
  assert.ok((cut.queued as number) > 50 || (cut.unsentBytes as number) > 4 * 1024 * 1024, `cut off past a limit: ${JSON.stringify(cut)}`);
  const messages = await log.waitFor(400, 30_000);
  assert.deepEqual(messages.map((m) => m.offset), Array.from({ length: 400 }, (_, i) => i + 1));
  const metrics = await (await fetch(`${host.url}/metrics`)).text();
  assert.match(metrics, /^pusher_overloaded_sockets_total [1-9]/m);
});
