import type { Broker } from "../broker/broker.js";
import type { PusherConfig } from "../config/schema.js";
import type { Logger } from "../ops/logger.js";
import { createRedisClient, retriedByCaller } from "../redis-client/connections.js";
import { INGRESS_BLOCK_MS, RedisIngress } from "./redis-ingress.js";

/** The Redis ingress consumer (Redis modes only). Built here, not in broker/: it publishes through a Broker. */
export function createRedisIngress(config: PusherConfig, broker: Broker, logger: Logger): RedisIngress {
  const ingressLogger = logger.child({ module: "ingress" });
  return new RedisIngress({
    client: createRedisClient(config.redis, "ingress", ingressLogger, retriedByCaller(config.redis, INGRESS_BLOCK_MS)),
    broker,
    keyPrefix: config.redis.keyPrefix,
    limits: config.limits,
    claimIdleMs: config.redis.ingressClaimIdleMs,
    logger: ingressLogger,
  });
}
