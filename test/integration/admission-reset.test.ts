import assert from "node:assert/strict";
import net from "node:net";
import test from "node:test";
import { retryUntil } from "../../src/redis-client/retry-until.js";
import { connectSocket, subscribe } from "../helpers/clients.js";
import { startPusher } from "../helpers/pusher.js";

// Found by the system test (a client script that died mid-handshake while the host drained): a
// websocket handshake the worker refuses on the raw socket, reset by its client, killed the worker.
test("a full worker survives websocket handshakes that their clients reset as it refuses them", async (t) => {
  const host = await startPusher(t, { workers: 1, env: { PUSHER_MAX_CONNECTIONS: "1" } });
  const resident = await connectSocket(t, host.url, { transports: ["websocket"], reconnection: false });
  let residentLost = "";
  resident.on("disconnect", (reason) => (residentLost = reason));

  // Whether a reset beats its request to the worker is a race; rounds go on, each reset a little
  // later after its request, until enough handshakes reached the worker and were refused there.
  let round = 0;
  await retryUntil(
    async () => {
      round++;
      for (let i = 0; i < 50; i++) resetHandshake(host.port, (round + i) % 4);
      const metrics = await (await fetch(`${host.url}/metrics`)).text();
      const refused = Number(/pusher_rejected_connections_total\{reason="too_many_connections"\} (\d+)/.exec(metrics)?.[1] ?? 0);
      if (refused < 5) throw new Error(`${refused} handshakes refused so far`);
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  assert.ok((await subscribe(resident, "still-here")).ok, "the worker still serves its client");
  assert.equal(residentLost, "");
  assert.deepEqual(host.lines.filter((l) => l.msg === "worker died"), []);
});

function resetHandshake(port: number, delayMs: number): void {
  const socket = net.connect(port, "127.0.0.1", () => {
    socket.write(
      "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: pusher\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    setTimeout(() => socket.resetAndDestroy(), delayMs);
  });
  socket.on("error", () => undefined);
}
