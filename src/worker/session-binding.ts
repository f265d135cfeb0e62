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
 */
export function bindSessions(io: PusherServer): void {
  const engine = io.engine;
  const send = (message: WorkerToPrimary, written: () => void): void => {
    if (!sendToPrimary(message, () => written())) written();
  };
  const generateId = engine.generateId.bind(engine);
  engine.generateId = async (req) => {
    const sid = await generateId(req);
    await new Promise<void>((resolve) => send({ t: "session:bound", sid }, resolve));
    return sid;
  };
  engine.on("connection", (socket: { id: string; once(event: "close", listener: () => void): void }) => {
    socket.once("close", () => send({ t: "session:released", sid: socket.id }, () => undefined));
  });
}
