import { PendingRequests, type RequestBody } from "../../ipc/pending-requests.js";
import { PusherError } from "../../protocol/errors.js";
import type { Member } from "../../protocol/presence.js";
import type { IpcTransport } from "../../ipc/transport.js";
import type { ChannelStateBackend, ChannelSummary, Contribution, JoinOutcome, StateSignal } from "../backend.js";
import { isStateReply, type StateRequest } from "./state-wire.js";

/**
 * A worker's channel state backend in embedded mode: contributions and signals go to the primary's
 * StateHub over IPC, in order. The primary outlives its workers, so there is nothing to re-assert.
 */
export class EmbeddedChannelState implements ChannelStateBackend {
  private readonly pending = new PendingRequests();
  private handler: (signal: StateSignal) => void = () => undefined;
  private readonly detach: () => void;

  constructor(
    private readonly transport: IpcTransport<StateRequest>,
    private readonly timeoutMs: number,
  ) {
    this.detach = transport.onMessage((message) => {
      if (!isStateReply(message)) return;
      if (message.t === "state:reply") this.pending.settle(message.id, message.result);
      else for (const signal of message.signals) this.handler(signal);
    });
  }

  async sync(entries: Contribution[]): Promise<void> {
    this.transport.send({ t: "state:sync", entries });
  }

  async join(entries: Contribution[], channel: string, user: string, maxMembers: number): Promise<JoinOutcome> {
    return (await this.request({ t: "state:join", entries, channel, user, maxMembers })) as JoinOutcome;
  }

  async broadcast(signal: StateSignal): Promise<void> {
    this.transport.send({ t: "state:broadcast", signal });
  }

  onSignal(handler: (signal: StateSignal) => void): void {
    this.handler = handler;
  }

  onReassert(): void {
    // The primary holds the state; a worker that lost it is dead and its contributions went with it.
  }

  async channels(prefix: string, limit: number): Promise<ChannelSummary[]> {
    return (await this.request({ t: "state:channels", prefix, limit })) as ChannelSummary[];
  }

  async channel(channel: string): Promise<{ subscribers: number; members: number }> {
    return (await this.request({ t: "state:channel", channel })) as { subscribers: number; members: number };
  }

  async members(channel: string): Promise<Member[]> {
    return (await this.request({ t: "state:members", channel })) as Member[];
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.detach();
    this.pending.rejectAll(new PusherError("unavailable", "channel state closed"));
  }

  private request(body: RequestBody<StateRequest>): Promise<unknown> {
    return this.pending.start((id) => this.transport.send({ ...body, id }), this.timeoutMs, "the primary's channel state");
  }
}
