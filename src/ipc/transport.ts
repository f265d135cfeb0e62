import type { MessagePort } from "node:worker_threads";

/**
 * An ordered, reliable message pipe between a worker and the primary. Cluster IPC in production;
 * a worker_threads MessagePort (same structured-clone semantics) in the broker suite.
 */
export interface IpcTransport<Out = unknown> {
  /** Typed by what this end may send, so the compiler checks every message at its send site. */
  send(message: Out): void;
  /** Subscribes to incoming messages; returns the unsubscribe function. */
  onMessage(handler: (message: unknown) => void): () => void;
}

/**
 * The receiving side's check of one direction's messages, keyed by every `t` of its union: a type
 * added to the union must be added here to compile, so no message is dropped on receipt unnoticed.
 */
export function messageGuard<M extends { t: string }>(types: Record<M["t"], true>): (m: unknown) => m is M {
  return (m): m is M => typeof m === "object" && m !== null && Object.hasOwn(types, (m as { t?: unknown }).t as string);
}

interface ProcessLike {
  send?(message: unknown, ...rest: unknown[]): boolean;
  on(event: "message", listener: (message: unknown) => void): unknown;
  off(event: "message", listener: (message: unknown) => void): unknown;
  isConnected?(): boolean;
  connected?: boolean;
}

/** Wraps `process` (in a worker) or a `cluster.Worker` (in the primary). */
export function processTransport<Out>(target: ProcessLike): IpcTransport<Out> {
  return {
    send(message) {
      const connected = target.isConnected ? target.isConnected() : target.connected !== false;
      // A dead peer's channel is gone; its requests time out, its fan-out is simply not needed.
      if (connected && target.send) target.send(message, undefined, undefined, () => undefined);
    },
    onMessage(handler) {
      target.on("message", handler);
      return () => target.off("message", handler);
    },
  };
}

export function portTransport<Out>(port: MessagePort): IpcTransport<Out> {
  return {
    send: (message) => port.postMessage(message),
    onMessage(handler) {
      const listener = (message: unknown): void => handler(message);
      port.on("message", listener);
      return () => port.off("message", listener);
    },
  };
}
