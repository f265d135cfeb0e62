import type { TestContext } from "node:test";
import { io, type Socket, type ManagerOptions, type SocketOptions } from "socket.io-client";
import type { ClientToServerEvents, ServerToClientEvents, SubscribeAck } from "../../src/protocol/events.js";
import type { StreamPosition } from "../../src/protocol/messages.js";
import { MessageCollector } from "./message-collector.js";
import { DEV_API_KEY } from "./pusher.js";

export type TestSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Connects a raw socket.io client and waits for the connection; disconnected by `t.after`. */
export async function connectSocket(t: TestContext | undefined, url: string, options: Partial<ManagerOptions & SocketOptions> = {}): Promise<TestSocket> {
  const socket: TestSocket = io(url, { forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 500, ...options });
  t?.after(() => { socket.disconnect(); });
  await new Promise<void>((resolve, reject) => {
    // Only the first connection's failure gives up: a failed attempt while reconnecting later (a
    // host with no worker ready answers 503) must leave the client to its next attempt.
    const failed = (err: Error): void => { socket.disconnect(); reject(err); };
    socket.once("connect", () => { socket.off("connect_error", failed); resolve(); });
    socket.once("connect_error", failed);
  });
  return socket;
}

export function subscribe(socket: TestSocket, channel: string, extra: { token?: string; since?: StreamPosition } = {}): Promise<SubscribeAck> {
  return socket.timeout(5000).emitWithAck("subscribe", { channel, ...extra });
}

export interface PublishResponse {
  status: number;
  body: any;
  headers: Headers;
}

export async function postJson(url: string, path: string, body: unknown, key: string | null = DEV_API_KEY): Promise<PublishResponse> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const res = await fetch(url + path, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try { parsed = JSON.parse(text); } catch { /* keep text */ }
  return { status: res.status, body: parsed, headers: res.headers };
}

export function publish(url: string, body: unknown, key?: string | null): Promise<PublishResponse> {
  return postJson(url, "/v1/publish", body, key);
}

/** Records a socket's messages (optionally of one channel) and lets a test await a count. */
export function messageLog(socket: TestSocket, channel?: string): MessageCollector {
  const log = new MessageCollector();
  socket.on("message", (m) => {
    if (channel === undefined || m.channel === channel) log.add(m);
  });
  return log;
}
