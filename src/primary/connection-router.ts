import type { Worker } from "node:cluster";
import net from "node:net";
import { handOver, isWorkerToPrimary } from "../ipc/control.js";
import type { Logger } from "../ops/logger.js";
import { rawErrorResponse } from "../http/responses.js";
import { handleOf, holdReads, type ReadableHandle } from "./held-reads.js";
import { routable, sessionIdOf } from "./request-head.js";
import { RoutingTable } from "./routing-table.js";

export interface ConnectionRouterOptions {
  /** A connection that has not sent its request line within this long of its accept is closed, however it trickles (slowloris before routing); 0 = no limit. */
  headTimeoutMs: number;
  /** Route after this many bytes even without a whole request line (the worker's parser then refuses it). */
  maxHeadBytes?: number;
  /** Called for every TCP connection accepted, before routing. */
  onAccepted?: () => void;
}

const MAX_HEAD_BYTES = 8192;

const NO_WORKER = rawErrorResponse("unavailable", "No worker on this host is ready; retry shortly");

/**
 * The primary's listener: reads each connection's request line, picks a worker (the session's,
 * else the ready one holding the fewest connections) and hands the socket itself over, with the
 * bytes already read. The primary keeps no copy, so a worker's death closes its connections at
 * once (the kernel does it) and every request after the first, keep-alive included, goes straight
 * to the worker. Nothing is relayed through the primary.
 */
export class ConnectionRouter {
  readonly server: net.Server;
  private readonly table = new RoutingTable<Worker>();
  /** Sockets whose handoff has not been written yet, per worker: a worker that dies strands them. */
  private readonly inFlight = new Map<Worker, Set<net.Socket>>();
  /**
   * Per worker, the handle of the last socket handed over: written, but perhaps not yet
   * acknowledged. Node keeps a sent handle open in the sender until the receiver acknowledges it,
   * and when the receiver dies first it never closes it (ChildProcess#disconnect waits for a
   * queue only an acknowledgement flushes): that connection would stay open, unanswered, for as
   * long as the primary lives. One per kill in the fault bench: a publish nginx waited on until
   * the publisher gave up, a long-poll that left its client "connected" and fed nothing.
   */
  private readonly lastHanded = new Map<Worker, ReadableHandle>();
  private readonly maxHeadBytes: number;

  constructor(
    private readonly logger: Logger,
    private readonly options: ConnectionRouterOptions,
  ) {
    this.maxHeadBytes = options.maxHeadBytes ?? MAX_HEAD_BYTES;
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  /** Follows a forked worker: its session and connection reports, and its death. Routes nothing to it before `ready`. */
  attach(worker: Worker): void {
    worker.on("message", (message) => {
      if (!isWorkerToPrimary(message)) return;
      if (message.t === "conn:closed") this.table.closed(worker, message.count);
      else if (message.t === "session:bound") this.table.bind(message.sid, worker);
      else if (message.t === "session:released") this.table.release(message.sid, worker);
    });
    // "disconnect" comes first when a worker dies; "exit" covers a worker that never connected.
    const gone = (): void => this.forget(worker);
    worker.once("disconnect", gone);
    worker.once("exit", gone);
  }

  /** The worker has installed its handlers: it may take connections from now on. */
  ready(worker: Worker): void {
    if (worker.isConnected()) this.table.markReady(worker);
  }

  /** Connections the worker holds as far as routing knows (undefined: it takes none). */
  held(worker: Worker): number | undefined {
    return this.table.held(worker);
  }

  private forget(worker: Worker): void {
    this.table.remove(worker);
    const stranded = this.inFlight.get(worker);
    this.inFlight.delete(worker);
    // Handoffs queued behind one the dead worker never acknowledged are never written, and their
    // callbacks never run: close them here or they stay open, unread, for good.
    for (const socket of stranded ?? []) socket.destroy();
    // Closing a handle twice is a no-op, so whether it was acknowledged (and closed) or not does not matter.
    this.lastHanded.get(worker)?.close?.();
    this.lastHanded.delete(worker);
  }

  private accept(socket: net.Socket): void {
    this.options.onAccepted?.();
    socket.on("error", (err) => this.logger.debug({ err }, "client connection failed before routing"));
    // A deadline from the accept, not socket.setTimeout: that one is reset by every byte, so a
    // client trickling its request line a byte every few seconds held its connection in the
    // primary for hours.
    const deadline = this.options.headTimeoutMs > 0 ? setTimeout(() => socket.destroy(), this.options.headTimeoutMs) : undefined;
    socket.once("close", () => clearTimeout(deadline));
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      const head = chunks.length === 1 ? chunk : Buffer.concat(chunks, size);
      if (!routable(head, this.maxHeadBytes)) return;
      socket.off("data", onData);
      this.route(socket, head, deadline);
    };
    socket.on("data", onData);
  }

  /** `deadline` stays armed for a socket answered here (no worker ready), and is cleared for one handed over. */
  private route(socket: net.Socket, head: Buffer, deadline: NodeJS.Timeout | undefined): void {
    const worker = this.table.pick(sessionIdOf(head));
    if (worker === undefined) {
      // Keep reading (and discarding) while the answer goes out: closing with unread bytes would
      // reset the connection and could take the answer with it.
      socket.on("data", () => undefined);
      socket.end(NO_WORKER);
      return;
    }
    holdReads(socket);
    // From here the worker's header and request timeouts bound it.
    clearTimeout(deadline);
    // Sending takes the handle off the socket: keep it, for the case the worker dies unacknowledging.
    const handle = handleOf(socket);
    this.table.opened(worker);
    let pending = this.inFlight.get(worker);
    if (!pending) this.inFlight.set(worker, (pending = new Set()));
    pending.add(socket);
    handOver(worker, socket, head, (err) => {
      pending.delete(socket);
      if (!err) {
        // Node writes a handle only once the previous one is acknowledged: only this one may still
        // be open here. Written to a worker already gone: nobody will close it but us.
        if (this.table.held(worker) === undefined) handle?.close?.();
        else if (handle) this.lastHanded.set(worker, handle);
        return;
      }
      // The worker died (EPIPE, ERR_IPC_CHANNEL_CLOSED) while this socket was on its way.
      this.table.closed(worker, 1);
      this.logger.warn({ err, workerPid: worker.process.pid }, "handing a connection to a worker failed; closed it");
      socket.destroy();
    });
  }
}
