import type { Broker } from "../broker/broker.js";
import { RedisBroker } from "../broker/redis/redis-broker.js";
import { processTransport } from "../ipc/transport.js";
import type { PusherConfig } from "../config/schema.js";
import type { Logger } from "../ops/logger.js";
import { createRedisClient, retriedByCaller } from "../redis-client/connections.js";
import type { ChannelStateBackend } from "./backend.js";
import { EmbeddedChannelState } from "./embedded/embedded-channel-state.js";
import { RedisChannelState } from "./redis/redis-channel-state.js";

/**
 * The worker's channel state backend for the configured `redis.mode`. In the Redis modes its
 * signals ride the broker's fan-out stream, so they come from the broker's reader.
 */
export function createWorkerChannelState(config: PusherConfig, logger: Logger, broker: Broker): ChannelStateBackend {
  if (!(broker instanceof RedisBroker)) return new EmbeddedChannelState(processTransport(process), config.publish.timeoutMs);
  const stateLogger = logger.child({ module: "channel-state" });
  return new RedisChannelState({
    client: createRedisClient(config.redis, "state", stateLogger, retriedByCaller(config.redis)),
    keyPrefix: config.redis.keyPrefix,
    fanoutMaxLength: config.redis.fanoutMaxLength,
    // The same bound as each URL's queue; and nothing reads the queue while webhooks are off:
    // record none rather than fill Redis.
    webhookQueueMax: config.webhooks.urls.length > 0 ? config.webhooks.maxQueuedEvents : 0,
    leaseMs: config.channelState.workerLeaseMs,
    timeoutMs: config.publish.timeoutMs,
    signals: (handler) => broker.onSignals(handler),
    ...(broker.workerId ? { workerId: broker.workerId } : {}),
    logger: stateLogger,
  });
}
