import type { WebhookOutbox } from "../../webhooks/webhook-events.js";
import type { IpcTransport } from "../../ipc/transport.js";
import type { StateSignal } from "../backend.js";
import { StateTable } from "./state-table.js";
import { isStateRequest, type StateReply, type StateRequest } from "./state-wire.js";

/** Told of a request the hub failed on: a defect, logged by the caller. */
export type StateHubErrorObserver = (err: unknown, request: StateRequest["t"]) => void;

/**
 * The primary's side of embedded channel state: applies each worker's contributions to one
 * StateTable, answers queries, and sends member changes, client events and user disconnects to
 * every worker (batched per tick). A worker that exits has its contributions dropped at once.
 */
export class StateHub {
  private readonly table: StateTable;
  private readonly peers = new Set<IpcTransport<StateReply>>();
  private pending: StateSignal[] = [];

  constructor(
    private readonly onError: StateHubErrorObserver,
    outbox?: WebhookOutbox,
  ) {
    this.table = new StateTable({ signal: (s) => this.enqueue(s), webhook: (events) => outbox?.add(events) });
  }

  /** Serves one worker (its cluster id) until the returned function detaches it and drops its state. */
  attach(worker: number, peer: IpcTransport<StateReply>): () => void {
    this.peers.add(peer);
    const off = peer.onMessage((message) => {
      if (!isStateRequest(message)) return;
      try {
        this.handle(worker, peer, message);
      } catch (err) {
        this.onError(err, message.t);
      }
    });
    return () => {
      off();
      this.peers.delete(peer);
      this.table.dropWorker(worker);
    };
  }

  private handle(worker: number, peer: IpcTransport<StateReply>, request: StateRequest): void {
    switch (request.t) {
      case "state:sync":
        this.table.apply(worker, request.entries);
        return;
      case "state:join":
        peer.send({ t: "state:reply", id: request.id, result: this.table.join(worker, request.entries, request.channel, request.user, request.maxMembers) });
        return;
      case "state:broadcast":
        this.enqueue(request.signal);
        return;
      case "state:channels":
        peer.send({ t: "state:reply", id: request.id, result: this.table.channels(request.prefix, request.limit) });
        return;
      case "state:channel":
        peer.send({ t: "state:reply", id: request.id, result: this.table.channel(request.channel) });
        return;
      case "state:members":
        peer.send({ t: "state:reply", id: request.id, result: this.table.members(request.channel) });
        return;
    }
  }

  private enqueue(signal: StateSignal): void {
    if (this.pending.length === 0) setImmediate(() => this.flush());
    this.pending.push(signal);
  }

  private flush(): void {
    const batch: StateReply = { t: "state:signals", signals: this.pending };
    this.pending = [];
    for (const peer of this.peers) {
      try {
        peer.send(batch);
      } catch (err) {
        this.onError(err, "state:broadcast");
      }
    }
  }
}
