import { errorTable } from "../../protocol/errors.js";
import type { Message } from "../../protocol/messages.js";
import type { IpcTransport } from "../../ipc/transport.js";
import type { ChannelLog } from "./channel-log.js";
import { isBrokerRequest, type BrokerReply, type BrokerRequest, type WireOutcome } from "./wire.js";

/** Told of a request the hub failed on, or a fan-out it could not send: defects, logged by the caller. */
export type HubErrorObserver = (err: unknown, context: { request?: BrokerRequest["t"] }) => void;

/**
 * The primary's side of the embedded broker: answers workers' requests from the ChannelLog and
 * fans every sequenced message out to all attached workers, one IPC message per worker per tick.
 * It runs in the primary, whose death takes every worker and the whole history with it, so a
 * failure on one request or one send is answered and reported, never thrown into the IPC listener.
 */
export class EmbeddedHub {
  private readonly peers = new Set<IpcTransport<BrokerReply>>();
  private pending: Message[] = [];
  private flushScheduled = false;

  constructor(
    private readonly log: ChannelLog,
    private readonly onError: HubErrorObserver,
  ) {}

  /** Serves one worker until the returned function detaches it. */
  attach(peer: IpcTransport<BrokerReply>): () => void {
    this.peers.add(peer);
    const off = peer.onMessage((message) => {
      if (!isBrokerRequest(message)) return;
      try {
        this.handle(peer, message);
      } catch (err) {
        this.onError(err, { request: message.t });
        this.send(peer, { t: "broker:failed", id: message.id, error: { code: "internal", message: errorTable.internal.message } });
      }
    });
    return () => {
      off();
      this.peers.delete(peer);
    };
  }

  private handle(peer: IpcTransport<BrokerReply>, request: BrokerRequest): void {
    switch (request.t) {
      case "broker:publish": {
        const { outcomes, messages } = this.log.publish(request.requests);
        this.enqueue(messages);
        const result: WireOutcome[] = outcomes.map((o) => (o.ok ? o : { ok: false, error: o.error.toBody() }));
        peer.send({ t: "broker:reply", id: request.id, result });
        return;
      }
      case "broker:history":
        // Queued fan-out first: the worker then holds every message up to the head it is told.
        this.flush();
        peer.send({ t: "broker:reply", id: request.id, result: this.log.history(request.channel, request.since) });
        return;
      case "broker:probe":
        // Behind the queued fan-out, so an answer proves the fan-out path drains.
        this.flush();
        peer.send({ t: "broker:probe-echo", id: request.id });
        return;
    }
  }

  private enqueue(messages: Message[]): void {
    if (messages.length === 0) return;
    for (const m of messages) this.pending.push(m);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    const batch: BrokerReply = { t: "broker:messages", messages: this.pending };
    this.pending = [];
    // A worker that misses a batch sees the gap at its next message and resyncs its subscribers.
    for (const peer of this.peers) this.send(peer, batch);
  }

  private send(peer: IpcTransport<BrokerReply>, reply: BrokerReply): void {
    try {
      peer.send(reply);
    } catch (err) {
      this.onError(err, {});
    }
  }
}
