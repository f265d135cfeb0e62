import type { Message } from "../../protocol/messages.js";
import type { IpcTransport } from "../transport.js";
import type { ChannelLog } from "./channel-log.js";
import { isBrokerRequest, type BrokerReply, type BrokerRequest, type WireOutcome } from "./wire.js";

/**
 * The primary's side of the embedded broker: answers workers' requests from the ChannelLog and
 * fans every sequenced message out to all attached workers, one IPC message per worker per tick.
 */
export class EmbeddedHub {
  private readonly peers = new Set<IpcTransport>();
  private pending: Message[] = [];
  private flushScheduled = false;

  constructor(private readonly log: ChannelLog) {}

  /** Serves one worker until the returned function detaches it. */
  attach(peer: IpcTransport): () => void {
    this.peers.add(peer);
    const off = peer.onMessage((message) => {
      if (isBrokerRequest(message)) this.handle(peer, message);
    });
    return () => {
      off();
      this.peers.delete(peer);
    };
  }

  private handle(peer: IpcTransport, request: BrokerRequest): void {
    switch (request.t) {
      case "broker:publish": {
        const { outcomes, messages } = this.log.publish(request.requests);
        this.enqueue(messages);
        const result: WireOutcome[] = outcomes.map((o) => (o.ok ? o : { ok: false, error: o.error.toBody() }));
        peer.send({ t: "broker:reply", id: request.id, result } satisfies BrokerReply);
        return;
      }
      case "broker:history":
        // Queued fan-out first: the worker then holds every message up to the head it is told.
        this.flush();
        peer.send({ t: "broker:reply", id: request.id, result: this.log.history(request.channel, request.since) } satisfies BrokerReply);
        return;
      case "broker:probe":
        // Behind the queued fan-out, so an answer proves the fan-out path drains.
        this.flush();
        peer.send({ t: "broker:probe-echo", id: request.id } satisfies BrokerReply);
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
    for (const peer of this.peers) peer.send(batch);
  }
}
