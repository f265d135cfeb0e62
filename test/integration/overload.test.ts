import assert from "node:assert/strict";
import { once } from "node:events";
import test from "node:test";
import WebSocket from "ws";
import { connectSocket, messageLog, postJson, subscribe } from "../helpers/clients.js";
import { startPusher } from "../helpers/pusher.js";

/** A raw Engine.IO websocket client that subscribes, then stops reading its socket. */
async function stalledSubscriber(port: number, channel: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
  const frames: string[] = [];
  const next = async (prefix: string): Promise<string> => {
    for (;;) {
      const found = frames.findIndex((f) => f.startsWith(prefix));
      if (found >= 0) return frames.splice(found, 1)[0]!;
      await once(ws, "message");
    }
  };
  ws.on("message", (data) => frames.push(String(data)));
  await next("0{");
  ws.send("40");
  await next("40");
  ws.send(`420${JSON.stringify(["subscribe", { channel }])}`);
  assert.match(await next("430"), /"ok":true/);
  (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  return ws;
}

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
  assert.ok((cut.queued as number) > 50);
  const messages = await log.waitFor(400, 30_000);
  assert.deepEqual(messages.map((m) => m.offset), Array.from({ length: 400 }, (_, i) => i + 1));
  const metrics = await (await fetch(`${host.url}/metrics`)).text();
  assert.match(metrics, /^pusher_overloaded_sockets_total [1-9]/m);
});
