import type net from "node:net";

/** The libuv handle under a net.Socket: its reads, and its close for a handle sent but never acknowledged. */
export interface ReadableHandle {
  reading?: boolean;
  readStop?(): number;
  close?(): void;
}

export function handleOf(socket: net.Socket): ReadableHandle | undefined {
  return (socket as unknown as { _handle?: ReadableHandle })._handle ?? undefined;
}

const readNothing = (): void => undefined;

/**
 * Stops the primary reading a socket it is about to hand over, for good.
 *
 * When Node sends a socket handle to another process it only swaps the handle's read callback for
 * a no-op and closes the handle once the IPC write completes. Until then libuv in the primary keeps
 * reading the descriptor and throws away what it reads: a websocket client's first frame (the
 * namespace CONNECT, sent as soon as the worker's handshake answer arrives) can be swallowed, and
 * the client hangs until the server's connect timeout. Bench runs saw 0–2 of every 5000 connects
 * hang this way. Stopping reads leaves the bytes in the kernel for the worker.
 *
 * readStop alone does not last: the stream asks for more on the next tick (Readable's
 * maybeReadMore calls _read, which starts the handle reading again), and a handoff queued behind
 * one the worker has not acknowledged yet keeps the handle here for longer than a tick. A polling
 * POST's body (the client's CONNECT) arriving then was read and dropped. So the socket's _read is
 * replaced too: from here its bytes are the worker's.
 */
export function holdReads(socket: net.Socket): void {
  (socket as unknown as { _read(size: number): void })._read = readNothing;
  const handle = handleOf(socket);
  if (handle?.readStop) {
    handle.reading = false;
    handle.readStop();
  }
}
