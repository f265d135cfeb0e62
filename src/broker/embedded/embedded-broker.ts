import { PusherError } from "../../protocol/errors.js";
import type { Message, StreamPosition } from "../../protocol/messages.js";
import { PendingRequests, type RequestBody } from "../../ipc/pending-requests.js";
import type { Broker, HistoryResult, PublishOutcome, PublishRequest } from "../broker.js";
import { PublishBatcher } from "../publish-batcher.js";
import type { IpcTransport } from "../../ipc/transport.js";
import { isBrokerReply, type BrokerReply, type BrokerRequest, type WireOutcome } from "./wire.js";

/** A worker's broker in embedded mode: every call is a request to the primary's EmbeddedHub. */
export class EmbeddedBroker implements Broker {
  private readonly pending = new PendingRequests();
  private handler: (messages: Message[]) => void = () => undefined;
  private readonly detach: () => void;
  /** One IPC message per tick carries every publish this worker made in it. */
  private readonly batcher = new PublishBatcher((requests, arrivedAt) => this.publishNow(requests, arrivedAt));

  constructor(
    private readonly transport: IpcTransport<BrokerRequest>,
    private readonly timeoutMs: number,
  ) {
    this.detach = transport.onMessage((message) => {
      if (isBrokerReply(message)) this.receive(message);
    });
  }

  publish(requests: PublishRequest[], arrivedAt = Date.now()): Promise<PublishOutcome[]> {
    return this.batcher.publish(requests, arrivedAt);
  }

  private async publishNow(requests: PublishRequest[], arrivedAt: number): Promise<PublishOutcome[]> {
    const result = (await this.request({ t: "broker:publish", requests }, Math.max(1, arrivedAt + this.timeoutMs - Date.now()))) as WireOutcome[];
    return result.map((o) => (o.ok ? o : { ok: false, error: new PusherError(o.error.code, o.error.message) }));
  }

  async history(channel: string, since?: StreamPosition): Promise<HistoryResult> {
    return (await this.request({ t: "broker:history", channel, since }, this.timeoutMs)) as HistoryResult;
  }

  onMessages(handler: (messages: Message[]) => void): void {
    this.handler = handler;
  }

  onReset(): void {
    // The primary's log never goes back on an offset it handed out.
  }

  async start(): Promise<void> {
    // The IPC channel to the primary exists before the worker's first tick.
  }

  async probe(timeoutMs: number): Promise<void> {
    await this.request({ t: "broker:probe" }, timeoutMs);
  }

  async close(): Promise<void> {
    this.detach();
    this.pending.rejectAll(new PusherError("unavailable", "broker closed"));
  }

  private request(body: RequestBody<BrokerRequest>, timeoutMs: number): Promise<unknown> {
    return this.pending.start((id) => this.transport.send({ ...body, id }), timeoutMs, "the primary's broker");
  }

  private receive(reply: BrokerReply): void {
    switch (reply.t) {
      case "broker:messages":
        this.handler(reply.messages);
        return;
      case "broker:reply":
        this.pending.settle(reply.id, reply.result);
        return;
      case "broker:probe-echo":
        this.pending.settle(reply.id, undefined);
        return;
      case "broker:failed":
        this.pending.fail(reply.id, new PusherError(reply.error.code, reply.error.message));
        return;
    }
  }
}
