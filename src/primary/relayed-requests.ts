import type { Worker } from "node:cluster";
import cluster from "node:cluster";
import type { Server } from "node:http";
import type { Socket } from "node:net";
import { PusherError } from "../protocol/errors.js";

interface Relayed {
  connectionId: string;
  socket: Socket;
  worker: Worker;
  /** Response bytes have come back since the client's last request bytes went out. */
  answering: boolean;
}

interface StickyMessage {
  type?: unknown;
  connectionId?: unknown;
}

const DIED_BODY = JSON.stringify({ error: new PusherError("unavailable", "The worker handling this request died; retry it (with the same id)").toBody() });
const DIED = `HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(DIED_BODY)}\r\nConnection: close\r\n\r\n${DIED_BODY}`;

/**
 * Answers requests stranded by a dying worker. @socket.io/sticky keeps every request that carries
 * a body (the publish API) in the primary and relays its bytes to a worker over IPC; when that
 * worker is killed, sticky forgets nothing and tells nobody, and the client waits for its own
 * timeout (30 s in a hand check). Here each relayed connection is followed — sticky's choice of
 * worker is seen where it sends "sticky:http-chunk-start" — and when its worker exits, a request
 * with no answer yet gets 503 + Retry-After at once, and a half-answered one is closed.
 * Depends on sticky 2.0.1's IPC messages (the version is pinned).
 */
export class RelayedRequests {
  private readonly byConnectionId = new Map<string, Relayed>();
  private readonly bySocket = new WeakMap<Socket, Relayed>();
  /** The connection whose bytes sticky is routing right now (its data listener runs just after ours). */
  private routing: Socket | undefined;

  /** Register after sticky's setupMaster, so the data listener can be put in front of sticky's. */
  watch(server: Server): void {
    server.on("connection", (socket: Socket) => {
      socket.prependListener("data", () => {
        this.routing = socket;
        const relayed = this.bySocket.get(socket);
        if (relayed) relayed.answering = false;
      });
      socket.once("close", () => {
        const relayed = this.bySocket.get(socket);
        if (relayed) this.forget(relayed);
      });
    });
    cluster.on("message", (_worker, message: StickyMessage) => {
      if (typeof message?.connectionId !== "string") return;
      const relayed = this.byConnectionId.get(message.connectionId);
      if (relayed && message.type === "sticky:http-response") relayed.answering = true;
    });
  }

  /** Follows what sticky relays to this worker, and answers its requests when it exits. */
  track(worker: Worker): void {
    const send = worker.send.bind(worker) as (message: unknown, ...rest: unknown[]) => boolean;
    worker.send = ((message: StickyMessage, ...rest: unknown[]) => {
      if (message?.type === "sticky:http-chunk-start" && typeof message.connectionId === "string" && this.routing) {
        this.relay(this.routing, worker, message.connectionId);
      }
      return send(message, ...rest);
    }) as Worker["send"];
    worker.once("exit", () => {
      for (const relayed of [...this.byConnectionId.values()]) if (relayed.worker === worker) this.answerStranded(relayed);
    });
  }

  private relay(socket: Socket, worker: Worker, connectionId: string): void {
    const previous = this.bySocket.get(socket);
    if (previous) this.forget(previous);
    const relayed: Relayed = { connectionId, socket, worker, answering: false };
    this.byConnectionId.set(connectionId, relayed);
    this.bySocket.set(socket, relayed);
  }

  private forget(relayed: Relayed): void {
    this.byConnectionId.delete(relayed.connectionId);
    this.bySocket.delete(relayed.socket);
  }

  private answerStranded(relayed: Relayed): void {
    this.forget(relayed);
    const { socket } = relayed;
    if (socket.destroyed) return;
    // Whatever else the client sends on this connection belongs to the dead request: stop sticky
    // relaying it to another worker as if it were a new one, and discard it.
    socket.removeAllListeners("data");
    socket.resume();
    if (relayed.answering) {
      // Part of an answer (or a finished one on a kept-alive connection) is out: a clean 503
      // cannot follow it, so close the connection and let the client retry.
      socket.destroy();
      return;
    }
    socket.end(DIED);
  }
}
