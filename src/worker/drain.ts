import { ServerResponse, type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { sendError } from "../http/responses.js";
import { PusherError } from "../protocol/errors.js";
import type { PusherServer } from "./io-types.js";

const TICK_MS = 100;

/**
 * Disconnects every socket in paced batches (`perSecond`), each told to reconnect after a jittered
 * delay, so a host's clients spread over the others instead of stampeding them. Stops at `deadline`.
 */
export async function drainSockets(io: PusherServer, perSecond: number, deadline: number): Promise<void> {
  const perTick = Math.max(1, Math.ceil((perSecond * TICK_MS) / 1000));
  const sockets = [...io.of("/").sockets.values()];
  const closed: Promise<void>[] = [];
  while (sockets.length > 0 && Date.now() < deadline) {
    for (const socket of sockets.splice(0, perTick)) {
      closed.push(new Promise((resolve) => socket.conn.once("close", () => resolve())));
      socket.emit("reconnect_advice", { reason: "draining", retryAfterMs: Math.floor(Math.random() * 1000) });
      socket.disconnect(true);
    }
    if (sockets.length > 0) await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
  // Each connection closes once its advice and disconnect packets are written; exiting earlier
  // would cut the last batch off with a bare transport close.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(closed), new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))))]);
  clearTimeout(timer);
}

const SERVICE_UNAVAILABLE = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

/**
 * While draining, new Engine.IO handshakes (requests without a session id, polling or websocket)
 * are answered 503 with Retry-After, so nginx passes them to another host (proxy_next_upstream
 * http_503) and a client's own retry lands elsewhere. Existing sessions keep working until their
 * turn in the paced drain.
 */
export function refuseHandshakesWhileDraining(io: PusherServer, isDraining: () => boolean): void {
  io.engine.use((req: IncomingMessage, res: ServerResponse | { socket: Duplex }, next: (err?: Error) => void) => {
    const isHandshake = !new URL(req.url ?? "/", "http://pusher").searchParams.has("sid");
    if (!isDraining() || !isHandshake) return next();
    if (res instanceof ServerResponse) {
      sendError(res, new PusherError("draining", undefined, 1));
    } else {
      // A websocket upgrade: engine.io hands middlewares a stand-in response; answer on the raw socket.
      res.socket.end(SERVICE_UNAVAILABLE);
    }
  });
}
