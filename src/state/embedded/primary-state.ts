import type { Worker } from "node:cluster";
import { processTransport } from "../../ipc/transport.js";
import type { PusherConfig } from "../../config/schema.js";
import type { Logger } from "../../ops/logger.js";
import type { WebhookOutbox } from "../../webhooks/webhook-events.js";
import { StateHub } from "./state-hub.js";

/** The primary's half of embedded channel state; the Redis modes need none. */
export interface PrimaryChannelState {
  /** Serves the worker until it exits, then drops its contributions at once. */
  attach(worker: Worker): void;
}

/** With `redis.mode=none`: the primary combines its workers' channel state; webhook events go to `outbox`. */
export function createPrimaryChannelState(config: PusherConfig, logger: Logger, outbox?: WebhookOutbox): PrimaryChannelState | undefined {
  if (config.redis.mode !== "none") return undefined;
  const stateLogger = logger.child({ module: "channel-state" });
  const hub = new StateHub((err, request) => stateLogger.error({ err, request }, "channel state failed on a request"), outbox);
  return {
    attach(worker) {
      const detach = hub.attach(worker.id, processTransport(worker));
      worker.once("exit", detach);
    },
  };
}
