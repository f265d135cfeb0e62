import type { RedisBroker } from "../broker/redis/redis-broker.js";
import type { PusherConfig } from "../config/schema.js";
import type { Logger } from "../ops/logger.js";
import { createRedisClient, retriedByCaller } from "../redis-client/connections.js";
import { RedisChannelState } from "./redis/redis-channel-state.js";

/**
 * The worker's channel state backend in the Redis modes. Its signals ride the broker's fan-out
 * stream, so they come from the broker's reader.
 */
export function createRedisChannelState(config: PusherConfig, logger: Logger, broker: RedisBroker): RedisChannelState {
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
