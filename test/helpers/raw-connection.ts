import { once } from "node:events";
import net from "node:net";

/** Opens a TCP connection to a local port and sends `bytes` (a request as a hostile client writes it); destroyed by `t.after`. */
export async function rawConnection(t: { after(fn: () => void): void }, port: number, bytes: string): Promise<net.Socket> {
  const socket = net.connect(port, "127.0.0.1");
  t.after(() => socket.destroy());
  socket.on("error", () => undefined);
  socket.resume(); // else an answer left unread keeps "close" from ever coming
  await once(socket, "connect");
  if (bytes) socket.write(bytes);
  return socket;
}

/** Writes `text` to `socket` a byte every `intervalMs` until it is all sent or the socket closes; returns how many bytes went so far. */
export function trickle(t: { after(fn: () => void): void }, socket: net.Socket, text: string, intervalMs: number): () => number {
  let sent = 0;
  const timer = setInterval(() => {
    if (sent >= text.length || socket.destroyed) return clearInterval(timer);
    socket.write(text[sent++]!);
  }, intervalMs);
  t.after(() => clearInterval(timer));
  return () => sent;
}

/**
 * Resolves once `socket` has closed, however the server ended it. Not `once(socket, "close")`: a
 * write racing the server's close draws a reset, and `once` rejects on that "error" before "close".
 */
export function closed(socket: net.Socket): Promise<void> {
  return socket.closed ? Promise.resolve() : new Promise((resolve) => socket.once("close", () => resolve()));
}
