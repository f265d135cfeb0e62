import { sendToPrimary, type WorkerToPrimary } from "../ipc/control.js";
import type { PusherServer } from "../protocol/socket-types.js";

/**
 * Tells the primary which Engine.IO sessions live in this worker, so it routes every later request
 * of a session (long-polling, the websocket upgrade) here.
 *
 * The session is bound *before* the handshake answer leaves the worker: announced from engine.io's
 * "connection" event (which fires after the handshake response is written), a long-polling
 * client's next request (a new TCP connection) could reach the primary first, be routed to another
 * worker and get "Session ID unknown" (socket.io-sticky#2; seen here in about 1 of 30 polling
 * handshakes with two workers). Announcing the id from generateId, and waiting until the IPC
 * message is written, closes that race.
 *
 * A session opened over websocket is that one connection: no later request names it, so it is
 * neither bound nor released. That saves an IPC message each way and a wait on every websocket
 * connect, and an entry in the primary's table per connection.
 */
export function bindSessions(io: PusherServer): void {
  const engine = io.engine;
  const send = (message: WorkerToPrimary, written: () => void): void => {
    if (!sendToPrimary(message, () => written())) written();
  };
  const generateId = engine.generateId.bind(engine);
  engine.generateId = async (req) => {
    const sid = await generateId(req);
    if (openedOverWebsocket(req)) return sid;
    await new Promise<void>((resolve) => send({ t: "session:bound", sid }, resolve));
    return sid;
  };
  // "connection" comes in the handshake's own tick, before any upgrade: the transport is the one it opened with.
  engine.on("connection", (socket: { id: string; transport: { name: string }; once(event: "close", listener: () => void): void }) => {
    if (socket.transport.name === "websocket") return;
    socket.once("close", () => send({ t: "session:released", sid: socket.id }, () => undefined));
  });
}

function openedOverWebsocket(req: unknown): boolean {
  return (req as { _query?: { transport?: unknown } })._query?.transport === "websocket";
}
