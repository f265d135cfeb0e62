import type { ErrorBody } from "../protocol/errors.js";
import type { ClientEventAck, ResyncNotice, SubscribeAck } from "../protocol/events.js";
import type { Message, StreamPosition, SubscribeRequest } from "../protocol/messages.js";
import type { ClientEvent, Member } from "../protocol/presence.js";
import { ChannelPosition, type PositionJump } from "./channel-position.js";
import { MemberList } from "./member-list.js";
import { RecentIds } from "./recent-ids.js";

/** Enough for the messages a failover can write twice: the last moments before the master died. */
const DEFAULT_DEDUP_IDS = 1000;

/** A successful subscribe ack. */
export type SubscribeOk = Extract<SubscribeAck, { ok: true }>;

/**
 * What the application is told when its stream of a channel has a hole. Messages after
 * `{epoch, offset}` arrive without gaps again; whatever came between `previous` and that point was
 * missed, so the application should reload its state of the channel from its source of truth.
 */
export interface ResyncEvent extends ResyncNotice {
  /** The position held before the jump; undefined if none was held yet. */
  previous: StreamPosition | undefined;
}

/** A token, or a function that fetches a fresh one (called on every (re)subscribe, so tokens can expire). */
export type TokenSource = string | (() => string | Promise<string>);

export type MessageHandler = (message: Message) => void;

export interface SubscribeOptions {
  /** Token for `private-*` and `presence-*` channels. */
  token?: TokenSource;
  /**
   * Resume from a position the application kept (e.g. in storage across page loads): the first
   * subscribe then asks the server for everything after it.
   */
  since?: StreamPosition;
  /**
   * How many recent message ids the subscription remembers, to drop a message the server wrote
   * twice across an epoch change (default 1000). Publishers that reuse an `id` on a channel for
   * another message must keep the reuses further apart than this.
   */
  dedupIds?: number;
  /** Called when messages were missed and cannot be replayed; the stream goes on from the new position. */
  onResync?(event: ResyncEvent): void;
  /** Called when the server refuses the subscription (retried for transient codes, final for others). */
  onError?(error: SubscriptionError): void;
  /** Presence channels: a user joined (first connection anywhere); also for joins missed while disconnected. */
  onMemberAdded?(member: Member): void;
  /** Presence channels: a user left (last connection gone); also for leaves missed while disconnected. */
  onMemberRemoved?(member: Member): void;
  /** Private and presence channels: another subscriber's `client-*` event. */
  onClientEvent?(event: ClientEvent): void;
}

/** A refusal from the server (`ok: false` ack), or a client-side failure such as a token fetch. */
export class SubscriptionError extends Error {
  readonly channel: string;
  readonly code: ErrorBody["code"] | "token_failed";
  /** True when the client gave up on the subscription; false when it will retry. */
  readonly final: boolean;

  constructor(channel: string, code: SubscriptionError["code"], message: string, final: boolean) {
    super(`${channel}: ${message} (${code})`);
    this.name = "SubscriptionError";
    this.channel = channel;
    this.code = code;
    this.final = final;
  }
}

/** The application's handle on one channel subscription. */
export interface Subscription {
  readonly channel: string;
  /** The `{epoch, offset}` of the last message delivered (or the head at subscribe), if known. */
  readonly position: StreamPosition | undefined;
  /** Resolves with the first successful ack; rejects if the server refuses the subscription for good. */
  readonly ready: Promise<SubscribeOk>;
  /** Presence channels: the members now (from the last ack, kept current by member events). */
  readonly members: ReadonlyMap<string, Member>;
  /**
   * Sends a client event (name starting `client-`) to the channel's other subscribers; resolves
   * with the server's answer. Only on private and presence channels, once subscribed.
   */
  trigger(event: string, data?: unknown): Promise<ClientEventAck>;
  /** Stops delivery at once and tells the server. */
  unsubscribe(): void;
}

/** Hooks the client gives each subscription: where to report, and how to leave. */
export interface SubscriptionHost {
  /** Reports a failure that has no better place to go (e.g. a throwing handler). */
  reportError(error: unknown): void;
  /** Reports a resync at the client level as well. */
  reportResync(event: ResyncEvent): void;
  /** Removes the subscription from the client and tells the server. */
  release(subscription: ChannelSubscription): void;
  /** Sends a client event on the current connection. */
  sendClientEvent(channel: string, event: string, data: unknown): Promise<ClientEventAck>;
}

/**
 * One channel's delivery state inside the client: its position, the attempt counter that makes
 * acks of superseded subscribe requests harmless, and the application's callbacks. The client owns
 * the socket; this class only decides what each ack, message and resync means for the channel.
 */
export class ChannelSubscription implements Subscription {
  readonly channel: string;
  readonly ready: Promise<SubscribeOk>;
  readonly #handler: MessageHandler;
  readonly #options: SubscribeOptions;
  readonly #host: SubscriptionHost;
  readonly #position: ChannelPosition;
  readonly #recentIds: RecentIds;
  readonly #members = new MemberList();
  #attempt = 0;
  #closed = false;
  #settled = false;
  #resolveReady!: (ack: SubscribeOk) => void;
  #rejectReady!: (error: SubscriptionError) => void;

  constructor(channel: string, handler: MessageHandler, options: SubscribeOptions, host: SubscriptionHost) {
    this.channel = channel;
    this.#handler = handler;
    this.#options = options;
    this.#host = host;
    this.#position = new ChannelPosition(options.since);
    this.#recentIds = new RecentIds(options.dedupIds ?? DEFAULT_DEDUP_IDS);
    this.ready = new Promise<SubscribeOk>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // An application that never awaits `ready` must not crash Node with an unhandled rejection;
    // awaiting it still sees the rejection, and onError is told either way.
    this.ready.catch(() => undefined);
  }

  get position(): StreamPosition | undefined {
    return this.#position.current;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get members(): ReadonlyMap<string, Member> {
    return this.#members.members;
  }

  trigger(event: string, data?: unknown): Promise<ClientEventAck> {
    return this.#host.sendClientEvent(this.channel, event, data ?? null);
  }

  unsubscribe(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#host.release(this);
  }

  /** Starts a new subscribe attempt; acks of earlier attempts are ignored from now on. */
  beginAttempt(): number {
    return ++this.#attempt;
  }

  /** Invalidates every outstanding attempt (the connection they were sent on is gone). */
  abandonAttempts(): void {
    this.#attempt++;
  }

  isCurrent(attempt: number): boolean {
    return !this.#closed && attempt === this.#attempt;
  }

  /** The request for a (re)subscribe: `since` is the position held now, so the server replays the rest. */
  async buildRequest(): Promise<SubscribeRequest> {
    const request: SubscribeRequest = { channel: this.channel };
    const token = this.#options.token;
    if (token !== undefined) request.token = typeof token === "function" ? await token() : token;
    // Read after the token await: the position is the one at send time.
    const since = this.#position.current;
    if (since !== undefined) request.since = since;
    return request;
  }

  /** Applies a successful ack for a request that carried `since`. */
  handleAck(ack: SubscribeOk, since: StreamPosition | undefined): void {
    const jump = this.#position.applyAck(ack, since);
    const first = !this.#settled;
    if (ack.members) {
      const { added, removed } = this.#members.replace(ack.members);
      // The first list is the starting point (read `members`); later ones tell what changed meanwhile.
      if (!first) {
        for (const member of removed) this.#call(() => this.#options.onMemberRemoved?.(member));
        for (const member of added) this.#call(() => this.#options.onMemberAdded?.(member));
      }
    }
    if (first) {
      this.#settled = true;
      this.#resolveReady(ack);
    }
    if (jump) this.#tellResync(jump, { epoch: ack.epoch, offset: ack.offset });
  }

  handleMemberAdded(member: Member): void {
    if (!this.#closed && this.#members.add(member)) this.#call(() => this.#options.onMemberAdded?.(member));
  }

  handleMemberRemoved(member: Member): void {
    if (!this.#closed && this.#members.remove(member)) this.#call(() => this.#options.onMemberRemoved?.(member));
  }

  handleClientEvent(event: ClientEvent): void {
    if (!this.#closed) this.#call(() => this.#options.onClientEvent?.(event));
  }

  /**
   * Delivers a message exactly once, after telling the application about any hole before it. A
   * message whose id was delivered already still moves the position (its offset is taken) but
   * does not reach the handler.
   */
  handleMessage(message: Message): void {
    if (this.#closed) return;
    const verdict = this.#position.accept(message);
    if (!verdict.deliver) return;
    if (verdict.jump) this.#tellResync(verdict.jump, { epoch: message.epoch, offset: message.offset - 1 });
    if (message.id !== undefined && this.#recentIds.seen(message.id)) return;
    try {
      this.#handler(message);
    } catch (err) {
      // The message counts as delivered: replaying it would hand it over twice.
      this.#host.reportError(err);
    }
  }

  /** A server `resync`: the history the position needs is gone; continue from the server's point. */
  handleResync(notice: ResyncNotice): void {
    if (this.#closed) return;
    const previous = this.#position.current;
    this.#position.jumpTo(notice);
    this.#emitResync({ ...notice, channel: this.channel, previous });
  }

  /** Reports a refusal; a final one ends the subscription and rejects `ready` if still pending. */
  handleError(error: SubscriptionError): void {
    if (error.final) this.#closed = true;
    if (error.final && !this.#settled) {
      this.#settled = true;
      this.#rejectReady(error);
    }
    this.#call(() => this.#options.onError?.(error));
  }

  #tellResync(jump: PositionJump, at: StreamPosition): void {
    this.#emitResync({ channel: this.channel, epoch: at.epoch, offset: at.offset, reason: jump.reason, previous: jump.previous });
  }

  #emitResync(event: ResyncEvent): void {
    this.#call(() => this.#options.onResync?.(event));
    this.#host.reportResync(event);
  }

  #call(callback: () => void): void {
    try {
      callback();
    } catch (err) {
      this.#host.reportError(err);
    }
  }
}
