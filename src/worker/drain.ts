import { errorTable } from "../protocol/errors.js";
import type { PusherServer, PusherSocket } from "../protocol/socket-types.js";

const TICK_MS = 100;
/** The clients of a draining host come back spread over the table's Retry-After for `draining`. */
const ADVICE_SPREAD_MS = errorTable.draining.retryAfterSeconds * 1000;
/**
 * How long a goodbye may wait for its client. A websocket or a held long-poll takes it at once; a
 * polling session with no request pending belongs to a client that has already gone elsewhere
 * (nginx moved it when this host began refusing), and would hold the drain until the deadline.
 */
const GOODBYE_GRACE_MS = 2000;

/**
 * Resolves when the connection has closed: once its goodbye is written, or after the grace,
 * discarded. Not only on its "close": a polling session whose last poll took the goodbye is
 * already closing, waiting for one more request, and then engine.io's close(discard) does nothing
 * and its own close timeout is 30 s; its client, gone elsewhere, sends none. Such sessions held
 * 3 of 10 drains of the fault bench's rolling restart to the deadline (9.2 s instead of ~1 s).
 */
function closed(socket: PusherSocket): Promise<void> {
  return new Promise((resolve) => {
    const abandon = setTimeout(() => {
      socket.conn.close(true);
      resolve();
    }, GOODBYE_GRACE_MS);
    socket.conn.once("close", () => {
      clearTimeout(abandon);
      resolve();
    });
  });
}

/**
 * Disconnects every socket in paced batches (`perSecond`), each told to reconnect after a jittered
 * delay, so a host's clients spread over the others instead of stampeding them. Stops at `deadline`.
 */
export async function drainSockets(io: PusherServer, perSecond: number, deadline: number): Promise<void> {
  const perTick = Math.max(1, Math.ceil((perSecond * TICK_MS) / 1000));
  const sockets = [...io.of("/").sockets.values()];
  const goodbyes: Promise<void>[] = [];
  while (sockets.length > 0 && Date.now() < deadline) {
    for (const socket of sockets.splice(0, perTick)) {
      goodbyes.push(closed(socket));
      socket.emit("reconnect_advice", { reason: "draining", retryAfterMs: Math.floor(Math.random() * ADVICE_SPREAD_MS) });
      socket.disconnect(true);
    }
    if (sockets.length > 0) await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
  // Each connection closes once its advice and disconnect packets are written; exiting earlier
  // would cut the last batch off with a bare transport close.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(goodbyes), new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))))]);
  clearTimeout(timer);
}
