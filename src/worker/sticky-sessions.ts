import { setupWorker } from "@socket.io/sticky";
import type { PusherServer } from "./io-types.js";

/**
 * The worker side of @socket.io/sticky, with the session bound in the primary *before* the
 * handshake answer leaves the worker.
 *
 * Sticky tells the primary which worker owns a session from engine.io's "connection" event, which
 * fires after the handshake response is written. A long-polling client's next request (a new TCP
 * connection) can then reach the primary first, be routed to another worker and get "Session ID
 * unknown" (socket.io-sticky#2; seen here in about 1 of 30 polling handshakes with two workers).
 * Announcing the id from generateId, and waiting until the IPC message is written, closes that race.
 */
export function setupStickyWorker(io: PusherServer): void {
  const engine = io.engine;
  const before = new Set(engine.listeners("connection"));
  setupWorker(io as never);
  // Drop sticky's own late announcement; the binding and its release are sent below instead.
  for (const listener of engine.listeners("connection")) {
    if (!before.has(listener)) engine.off("connection", listener as (...args: unknown[]) => void);
  }

  const generateId = engine.generateId.bind(engine);
  engine.generateId = async (req) => {
    const id = await generateId(req);
    await new Promise<void>((resolve) => {
      if (!process.send?.({ type: "sticky:connection", data: id }, undefined, undefined, () => resolve())) resolve();
    });
    return id;
  };
  engine.on("connection", (socket: { id: string; once(event: "close", listener: () => void): void }) => {
    socket.once("close", () => process.send?.({ type: "sticky:disconnection", data: socket.id }, undefined, undefined, () => undefined));
  });
}
