import type { PusherServer, PusherSocket } from "./io-types.js";

const CHECK_INTERVAL_MS = 250;

/**
 * engine.io's per-connection queue of unsent packets. Private in its typings but the field every
 * flush drains; reading it four times a second is far cheaper than counting packets per emit.
 */
function queuedPackets(socket: PusherSocket): number {
  return (socket.conn as unknown as { writeBuffer: unknown[] }).writeBuffer.length;
}

/**
 * socket.io has no backpressure: frames for a client that does not read pile up in its engine.io
 * write buffer, and a fan-out burst grows the worker's memory without bound (DESIGN §7). Every
 * 250 ms this cuts off the sockets holding more than `maxQueued` unsent packets, discarding them;
 * the client reconnects and recovers what it missed from history with `since`.
 */
export function guardOutgoingBuffers(io: PusherServer, maxQueued: number, onCutOff: (socket: PusherSocket, queued: number) => void): () => void {
  const timer = setInterval(() => {
    for (const socket of io.of("/").sockets.values()) {
      const queued = queuedPackets(socket);
      if (queued <= maxQueued) continue;
      onCutOff(socket, queued);
      socket.disconnect(true);
      // disconnect() waits for the buffer to drain, which is what this client cannot do: discard it.
      socket.conn.close(true);
    }
  }, CHECK_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
