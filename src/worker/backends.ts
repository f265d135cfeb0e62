import type { Registry } from "prom-client";
import type { Broker } from "../broker/broker.js";
import { EmbeddedBroker } from "../broker/embedded/embedded-broker.js";
import type { PusherConfig } from "../config/schema.js";
import { processTransport } from "../ipc/transport.js";
import type { Logger } from "../ops/logger.js";
import type { RedisObserver } from "../ops/worker-metrics.js";
import type { ChannelStateBackend } from "../state/backend.js";
import { EmbeddedChannelState } from "../state/embedded/embedded-channel-state.js";

/** What a worker publishes, delivers and keeps channel state through, for its `redis.mode`. */
export interface WorkerBackends {
  broker: Broker;
  channelState: ChannelStateBackend;
  /** Redis modes only: the Redis ingress consumer, started once the broker and state are. */
  ingress?: { start(): void; close(): Promise<void> };
  /** Redis modes only (embedded mode: the primary sends webhooks). */
  webhooks?: { close(): Promise<void> };
}

/** What the backends need from the worker that builds them. */
export interface BackendDeps {
  observer: RedisObserver;
  registry: Registry;
}

/**
 * Builds a worker's backends. src/main.ts picks the factory for `redis.mode` before the worker
 * starts, so runWorker still wires everything on its first tick.
 */
export type CreateBackends = (config: PusherConfig, logger: Logger, deps: BackendDeps) => WorkerBackends;

/** `redis.mode = "none"`: the broker and channel state are the primary's, reached over IPC. */
export const createEmbeddedBackends: CreateBackends = (config) => ({
  broker: new EmbeddedBroker(processTransport(process), config.publish.timeoutMs),
  channelState: new EmbeddedChannelState(processTransport(process), config.publish.timeoutMs),
});
