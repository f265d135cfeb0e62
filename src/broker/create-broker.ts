import type { PusherConfig } from "../config/schema.js";
import type { Logger } from "../ops/logger.js";
import type { RedisObserver } from "../ops/worker-metrics.js";
import { createRedisClient, retriedByCaller, SENT_WHERE_ISSUED } from "../redis-client/connections.js";
import { newestSentinelViewCheck } from "../redis-client/master-check.js";
import { newWorkerId } from "../redis-client/worker-id.js";
import { FANOUT_BLOCK_MS } from "./redis/fanout-reader.js";
import { RedisBroker } from "./redis/redis-broker.js";

/** The broker's connections: retried by the broker, and never sent to a server it has not checked. */
function brokerConnection(config: PusherConfig, blockMs = 0) {
  return { ...retriedByCaller(config.redis, blockMs), ...SENT_WHERE_ISSUED };
}

/** The worker's broker in the Redis modes (`redis.mode` standalone or sentinel). */
export function createRedisBroker(config: PusherConfig, logger: Logger, observer?: RedisObserver): RedisBroker {
  const redisLogger = logger.child({ module: "redis" });
  return new RedisBroker({
    // Commands are not resent or queued by ioredis across a reconnect: the broker retries them
    // itself, once it has checked the new master's heads (see RedisBroker).
    commands: createRedisClient(config.redis, "commands", redisLogger, brokerConnection(config)),
    reader: createRedisClient(config.redis, "fanout", redisLogger, brokerConnection(config, FANOUT_BLOCK_MS)),
    keyPrefix: config.redis.keyPrefix,
    durability: config.publish.durability,
    replicaMaxLagSeconds: config.publish.replicaMaxLagSeconds,
    timeoutMs: config.publish.timeoutMs,
    historySize: config.history.size,
    historyTtlMs: config.history.ttlSeconds * 1000,
    metaTtlMs: config.history.metaTtlSeconds * 1000,
    dedupWindowMs: config.publish.dedupWindowSeconds * 1000,
    fanoutMaxLength: config.redis.fanoutMaxLength,
    logger: redisLogger,
    // The channel state's lease zset (src/state/redis/state-scripts.ts) tells which workers are live.
    fleet: { workerId: newWorkerId(), leasesKey: `${config.redis.keyPrefix}st:workers` },
    ...(config.redis.mode === "sentinel" ? { masterCheck: newestSentinelViewCheck(config.redis) } : {}),
    ...(observer ? { observer } : {}),
  });
}
