import type { PusherServer } from "./io-types.js";

const TICK_MS = 100;

/**
 * Disconnects every socket in paced batches (`perSecond`), each told to reconnect after a jittered
 * delay, so a host's clients spread over the others instead of stampeding them. Stops at `deadline`.
 */
export async function drainSockets(io: PusherServer, perSecond: number, deadline: number): Promise<void> {
  const perTick = Math.max(1, Math.ceil((perSecond * TICK_MS) / 1000));
  const sockets = [...io.of("/").sockets.values()];
  while (sockets.length > 0 && Date.now() < deadline) {
    for (const socket of sockets.splice(0, perTick)) {
      socket.emit("reconnect_advice", { reason: "draining", retryAfterMs: Math.floor(Math.random() * 1000) });
      socket.disconnect(true);
    }
    if (sockets.length > 0) await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
}
