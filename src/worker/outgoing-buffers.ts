import type { PusherServer, PusherSocket } from "../protocol/socket-types.js";

const CHECK_INTERVAL_MS = 250;

/** What a socket holds unsent: packets engine.io has not written yet, and bytes written but not sent. */
export interface Unsent {
  packets: number;
  bytes: number;
}

export interface OutgoingLimits {
  maxQueuedMessages: number;
  maxQueuedBytes: number;
}

/**
 * engine.io's queue (private in its typings, but the field every flush drains) holds packets only
 * until the transport is writable again; a flush hands them all to ws at once, where they sit in
 * ws's own queue and the TCP socket's write buffer as bytes (`bufferedAmount`). Counting packets
 * in the first alone let a paused client hold a whole flush (~1,000 messages) beyond the limit
 * until its ping timeout, and let 1,000 large messages count as much as 1,000 small ones.
 * Long-polling has no second stage to count: it writes one response per request the client makes,
 * so a client that stops reading stops asking.
 */
function unsent(socket: PusherSocket): Unsent {
  const conn = socket.conn as unknown as { writeBuffer: Array<{ data?: unknown }>; transport: { socket?: { bufferedAmount?: unknown } } };
  let bytes = 0;
  for (const packet of conn.writeBuffer) {
    if (typeof packet.data === "string") bytes += packet.data.length;
    else if (packet.data instanceof Uint8Array) bytes += packet.data.byteLength;
  }
  const buffered = conn.transport.socket?.bufferedAmount;
  if (typeof buffered === "number") bytes += buffered;
  return { packets: conn.writeBuffer.length, bytes };
}

/**
 * socket.io has no backpressure: frames for a client that does not read pile up, and a fan-out
 * burst grows the worker's memory without bound (DESIGN §7). Every 250 ms this cuts off the
 * sockets holding more than the limits unsent, discarding it; the client reconnects and recovers
 * what it missed from history with `since`. Reading two counters four times a second is far
 * cheaper than accounting per emit.
 */
export function guardOutgoingBuffers(io: PusherServer, limits: OutgoingLimits, onCutOff: (socket: PusherSocket, unsent: Unsent) => void): () => void {
  const timer = setInterval(() => {
    for (const socket of io.of("/").sockets.values()) {
      const held = unsent(socket);
      if (held.packets <= limits.maxQueuedMessages && held.bytes <= limits.maxQueuedBytes) continue;
      onCutOff(socket, held);
      socket.disconnect(true);
      // disconnect() waits for the buffer to drain, which is what this client cannot do: discard it.
      socket.conn.close(true);
    }
  }, CHECK_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
