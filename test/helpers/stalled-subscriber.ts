import assert from "node:assert/strict";
import { once } from "node:events";
import WebSocket from "ws";

/** A raw Engine.IO websocket client that subscribes, then stops reading its socket (its kernel buffers fill). */
export async function stalledSubscriber(port: number, channel: string): Promise<WebSocket> {
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
