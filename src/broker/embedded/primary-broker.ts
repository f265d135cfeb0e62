import type { Worker } from "node:cluster";
import type { PusherConfig } from "../../config/schema.js";
import type { Logger } from "../../ops/logger.js";
import { processTransport } from "../../ipc/transport.js";
import { ChannelLog } from "./channel-log.js";
import { EmbeddedHub } from "./hub.js";

const SWEEP_INTERVAL_MS = 5000;

/** The primary's half of the embedded backend: serves each worker's EmbeddedBroker over IPC. */
export interface PrimaryBroker {
  /** Serves the worker until it exits. */
  attach(worker: Worker): void;
}

/** Sequences channels in the primary with `redis.mode=none`; the Redis modes need no primary half. */
export function createPrimaryBroker(config: PusherConfig, logger: Logger): PrimaryBroker | undefined {
  if (config.redis.mode !== "none") return undefined;
  const log = new ChannelLog({
    historySize: config.history.size,
    historyTtlMs: config.history.ttlSeconds * 1000,
    metaTtlMs: config.history.metaTtlSeconds * 1000,
    dedupWindowMs: config.publish.dedupWindowSeconds * 1000,
    maxChannels: config.limits.maxChannels,
  });
  const hubLogger = logger.child({ module: "embedded-broker" });
  const hub = new EmbeddedHub(log, (err, context) => hubLogger.error({ err, ...context }, "embedded broker failed on a request or a fan-out"));
  setInterval(() => log.sweep(), SWEEP_INTERVAL_MS).unref();
  return {
    attach(worker) {
      const detach = hub.attach(processTransport(worker));
      worker.once("exit", detach);
    },
  };
}
