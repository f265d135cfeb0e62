import type { Server } from "node:http";
import type { Socket } from "node:net";

interface ReadableHandle {
  reading?: boolean;
  readStop?(): number;
}

/** The same test @socket.io/sticky applies: a request with a body stays in the primary (relayed over IPC). */
function staysInPrimary(firstChunk: Buffer): boolean {
  const end = firstChunk.indexOf("\r\n\r\n");
  const header = firstChunk.subarray(0, end < 0 ? firstChunk.length : end).toString("latin1").toLowerCase();
  return header.includes("content-length:") || header.includes("transfer-encoding:");
}

/**
 * Stops the primary reading a connection the moment sticky is about to hand it to a worker.
 *
 * When Node sends a socket handle to another process it only swaps the handle's read callback for
 * a no-op and closes the handle once the IPC write completes. Until then libuv in the primary keeps
 * reading the descriptor and throws away what it reads: a websocket client's first frame (the
 * namespace CONNECT, sent as soon as the worker's handshake answer arrives) can be swallowed, and
 * the client hangs until the server's connect timeout. Bench runs saw 0–2 of every 5000 connects
 * hang this way, with a plain sticky setup too. Stopping reads leaves the bytes in the kernel
 * for the worker.
 */
export function stopReadingBeforeHandoff(server: Server): void {
  server.on("connection", (socket: Socket) => {
    socket.prependOnceListener("data", (chunk: Buffer) => {
      if (staysInPrimary(chunk)) return;
      const handle = (socket as unknown as { _handle?: ReadableHandle })._handle;
      if (handle?.readStop) {
        handle.reading = false;
        handle.readStop();
      }
    });
  });
}
