import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import { isValidChannel } from "../protocol/channels.js";
import type { ErrorCode } from "../protocol/errors.js";
import type { ClientEventAck, ClientToServerEvents, ReconnectNotice, ServerToClientEvents } from "../protocol/events.js";
import type { Message } from "../protocol/messages.js";
import { TypedEmitter } from "./emitter.js";
import { defaultReconnectDelay, reconnectDelayMs, type ReconnectDelayOptions } from "./reconnect-delay.js";
import {
  ChannelSubscription,
  SubscriptionError,
  type MessageHandler,
  type ResyncEvent,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionHost,
} from "./subscription.js";

type PusherSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * - `connecting`: the first connection is being made.
 * - `connected`: the socket is up and every subscription has been (re)requested.
 * - `disconnected`: the link just dropped (`detail.reason` says why); `reconnecting` follows.
 * - `reconnecting`: a reconnect is scheduled or in progress.
 * - `closed`: not connected and not trying: `close()` was called, or the client was built with
 *   `socketOptions.autoConnect: false` and `connect()` has not been called yet.
 */
export type ConnectionState = "connecting" | "connected" | "disconnected" | "reconnecting" | "closed";

export interface StateDetail {
  /** socket.io's disconnect reason, or the server's reconnect advice reason. */
  reason?: string;
  /** What socket.io said about a dropped link (e.g. an HTTP status and body), for diagnosis. */
  description?: string;
  /** When the client itself schedules the reconnect: the wait before it. */
  retryInMs?: number;
}

export interface ClientEvents {
  state: (state: ConnectionState, detail: StateDetail) => void;
  /** Every resync on any channel (subscriptions' own `onResync` are called too). */
  resync: (event: ResyncEvent) => void;
  /** Failures with no better place to go: a throwing handler, a refused connection. */
  error: (error: unknown) => void;
}

export interface PusherClientOptions {
  /** Connection token, sent as socket.io `auth.token`. */
  token?: string;
  /** socket.io transports; default polling then websocket upgrade. */
  transports?: ManagerOptions["transports"];
  /** Passed to socket.io-client's `io()` as is (they win over the options above). */
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
  /** How long to wait for a subscribe ack before asking again. Default 10 s. */
  ackTimeoutMs?: number;
  /** Waits for the reconnects this client schedules itself (server-initiated disconnects). */
  reconnect?: Partial<ReconnectDelayOptions>;
}

/** Codes that describe a passing condition: the subscribe is retried rather than abandoned. */
const TRANSIENT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(["rate_limited", "unavailable", "draining", "internal"]);

/** A connection that lasted this long proves the server accepts us again: the backoff restarts. */
const STABLE_CONNECTION_MS = 10_000;

/**
 * A pusher connection with per-channel recovery. It tracks each channel's `{epoch, offset}` from
 * the messages it delivers, resubscribes every channel with `since` after every reconnect, drops
 * replayed duplicates and tells the application (onResync) whenever messages were missed, so the
 * application sees each message once, in order, or is told otherwise.
 */
export class PusherClient extends TypedEmitter<ClientEvents> {
  readonly #socket: PusherSocket;
  readonly #subscriptions = new Map<string, ChannelSubscription>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #ackTimeoutMs: number;
  readonly #delays: ReconnectDelayOptions;
  readonly #host: SubscriptionHost;
  #state: ConnectionState = "connecting";
  #advice: ReconnectNotice | undefined;
  #refusals = 0;
  #connectedAt = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(url: string, options: PusherClientOptions = {}) {
    super();
    this.#ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.#delays = { ...defaultReconnectDelay, ...options.reconnect };
    this.#host = {
      reportError: (error) => this.#reportError(error),
      reportResync: (event) => this.emit("resync", event),
      release: (subscription) => this.#release(subscription),
      sendClientEvent: (channel, event, data) => this.#sendClientEvent(channel, event, data),
    };
    const socketOptions: Partial<ManagerOptions & SocketOptions> = {
      // Each client owns its connection, so close() cannot cut another client's link.
      forceNew: true,
      ...(options.token !== undefined ? { auth: { token: options.token } } : {}),
      ...(options.transports !== undefined ? { transports: options.transports } : {}),
      ...options.socketOptions,
    };
    this.#socket = io(url, socketOptions);
    this.#socket.on("connect", () => this.#onConnect());
    this.#socket.on("disconnect", (reason, description) => this.#onDisconnect(reason, describeDisconnect(description)));
    this.#socket.on("connect_error", (error) => this.#onConnectError(error));
    this.#socket.on("reconnect_advice", (notice) => { this.#advice = notice; });
    this.#socket.on("message", (message) => this.#onMessage(message));
    this.#socket.on("resync", (notice) => this.#subscriptions.get(notice.channel)?.handleResync(notice));
    this.#socket.on("member_added", ({ channel, member }) => this.#subscriptions.get(channel)?.handleMemberAdded(member));
    this.#socket.on("member_removed", ({ channel, member }) => this.#subscriptions.get(channel)?.handleMemberRemoved(member));
    this.#socket.on("client_event", (event) => this.#subscriptions.get(event.channel)?.handleClientEvent(event));
    if (socketOptions.autoConnect === false) this.#state = "closed";
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** The socket.io id of the current connection, if connected. */
  get id(): string | undefined {
    return this.#socket.id;
  }

  /** Connects, or reconnects after `close()` (or when built with `autoConnect: false`). */
  connect(): void {
    if (this.#socket.connected || this.#socket.active) return;
    this.#setState("connecting", {});
    this.#socket.connect();
  }

  /**
   * Subscribes to `channel`; `handler` receives each message once, in offset order. Subscribing
   * while disconnected is fine: the request goes out on the next connection.
   */
  subscribe(channel: string, handler: MessageHandler, options: SubscribeOptions = {}): Subscription {
    if (!isValidChannel(channel)) throw new TypeError(`invalid channel name: ${JSON.stringify(channel)}`);
    if (this.#subscriptions.has(channel)) throw new Error(`already subscribed to ${channel}; unsubscribe first`);
    const subscription = new ChannelSubscription(channel, handler, options, this.#host);
    this.#subscriptions.set(channel, subscription);
    if (this.#socket.connected) void this.#requestSubscription(subscription);
    return subscription;
  }

  /** Disconnects for good: no reconnect, no more deliveries. Subscriptions are kept for `connect()`. */
  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#cancelReconnect();
    this.#setState("closed", {});
    this.#socket.disconnect();
  }

  #onConnect(): void {
    this.#cancelReconnect();
    this.#advice = undefined;
    this.#connectedAt = Date.now();
    this.#setState("connected", {});
    // A new connection knows none of our channels: ask again for each, from where we stand.
    for (const subscription of this.#subscriptions.values()) void this.#requestSubscription(subscription);
  }

  #onDisconnect(reason: Socket.DisconnectReason, description: string | undefined): void {
    for (const subscription of this.#subscriptions.values()) subscription.abandonAttempts();
    if (this.#state === "closed") return;
    if (Date.now() - this.#connectedAt >= STABLE_CONNECTION_MS) this.#refusals = 0;
    // socket.io also reports "disconnect" when a handshake fails half-way (e.g. a poll answered
    // "Session ID unknown"): "disconnected" is only said of a link that was up.
    const wasConnected = this.#state === "connected";
    const detail: StateDetail = description === undefined ? { reason } : { reason, description };
    if (wasConnected) this.#setState("disconnected", detail);
    const advice = this.#advice;
    this.#advice = undefined;
    if (reason === "io server disconnect") {
      // socket.io does not come back by itself after the server hangs up on purpose.
      this.#scheduleReconnect(advice, reason);
    } else if (advice !== undefined) {
      // The server asked for a pause but the link dropped before its hang-up arrived: stop
      // socket.io's immediate retry and honour the advice, or every drained client returns at once.
      this.#socket.disconnect();
      this.#scheduleReconnect(advice, reason);
    } else {
      this.#setState("reconnecting", detail);
    }
  }

  #onConnectError(error: Error & { data?: unknown }): void {
    // While `active`, socket.io's own backoff retries. Inactive means the server refused the
    // connection in a middleware (e.g. admission limits while draining): socket.io gives up then.
    if (this.#socket.active || this.#state === "closed") return;
    this.#reportError(error);
    const data = error.data as { retryAfterMs?: unknown } | undefined;
    const retryAfterMs = typeof data?.retryAfterMs === "number" ? data.retryAfterMs : undefined;
    this.#scheduleReconnect(retryAfterMs !== undefined ? { reason: "overloaded", retryAfterMs } : undefined, "connection refused");
  }

  /** Reconnects later by itself: after the server's advice if any, else after a growing backoff. */
  #scheduleReconnect(advice: ReconnectNotice | undefined, cause: string): void {
    this.#cancelReconnect();
    const delay = reconnectDelayMs(this.#delays, advice ? 0 : this.#refusals++, advice?.retryAfterMs);
    this.#setState("reconnecting", { reason: advice?.reason ?? cause, retryInMs: delay });
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#state !== "closed") this.#socket.connect();
    }, delay);
  }

  #cancelReconnect(): void {
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
  }

  #onMessage(message: Message): void {
    // Messages of a channel just unsubscribed can still be in flight: no subscription, no delivery.
    this.#subscriptions.get(message.channel)?.handleMessage(message);
  }

  /** Sends one subscribe request on the current connection, carrying the channel's position. */
  async #requestSubscription(subscription: ChannelSubscription): Promise<void> {
    const attempt = subscription.beginAttempt();
    let request;
    try {
      request = await subscription.buildRequest();
    } catch (err) {
      subscription.handleError(new SubscriptionError(subscription.channel, "token_failed", errorText(err), false));
      if (subscription.isCurrent(attempt)) this.#retrySubscription(subscription, attempt);
      return;
    }
    // Only on a live connection: socket.io would buffer an emit made while disconnected and send
    // it on reconnect, next to the resubscribe that the connect handler sends anyway.
    if (!subscription.isCurrent(attempt) || !this.#socket.connected) return;
    const since = request.since;
    this.#socket.timeout(this.#ackTimeoutMs).emit("subscribe", request, (err, ack) => {
      if (!subscription.isCurrent(attempt)) return;
      if (err) {
        // Disconnected: the next connect resubscribes. Still connected: the server is slow to
        // answer; ask again (a late duplicate answer only replays what the position drops).
        if (this.#socket.connected) this.#retrySubscription(subscription, attempt);
        return;
      }
      if (ack.ok) {
        subscription.handleAck(ack, since);
        return;
      }
      const transient = TRANSIENT_CODES.has(ack.error.code);
      if (!transient) this.#subscriptions.delete(subscription.channel);
      subscription.handleError(new SubscriptionError(subscription.channel, ack.error.code, ack.error.message, !transient));
      if (transient) this.#retrySubscription(subscription, attempt);
    });
  }

  #retrySubscription(subscription: ChannelSubscription, attempt: number): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (subscription.isCurrent(attempt) && this.#socket.connected) void this.#requestSubscription(subscription);
    }, reconnectDelayMs(this.#delays, 0));
    this.#timers.add(timer);
  }

  #release(subscription: ChannelSubscription): void {
    if (this.#subscriptions.get(subscription.channel) !== subscription) return;
    this.#subscriptions.delete(subscription.channel);
    if (this.#socket.connected) this.#socket.emit("unsubscribe", { channel: subscription.channel }, () => undefined);
  }

  async #sendClientEvent(channel: string, event: string, data: unknown): Promise<ClientEventAck> {
    if (!this.#socket.connected) return { ok: false, error: { code: "unavailable", message: "not connected" } };
    return this.#socket.timeout(this.#ackTimeoutMs).emitWithAck("client-event", { channel, event, data });
  }

  #setState(state: ConnectionState, detail: StateDetail): void {
    this.#state = state;
    this.emit("state", state, detail);
  }

  #reportError(error: unknown): void {
    if (this.listenerCount("error") > 0) {
      this.emit("error", error);
      return;
    }
    // Nobody listens: surface it like any uncaught callback error rather than swallow it.
    setTimeout(() => {
      throw error;
    }, 0);
  }
}

/** Flattens socket.io's disconnect description (an Error, or an XHR/close-event context) to text. */
function describeDisconnect(description: unknown): string | undefined {
  if (description === undefined || description === null) return undefined;
  // engine.io's TransportError is an Error carrying `description` (an HTTP status) and `context` (the XHR).
  const { message, description: cause, context } = description as {
    message?: unknown;
    description?: unknown;
    context?: { status?: unknown; responseText?: unknown };
  };
  const parts = [message, cause instanceof Error ? cause.message : cause, context?.responseText];
  const text = parts.filter((p) => p !== undefined && p !== null && p !== "").map(String).join(" ");
  return text === "" ? undefined : text;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
