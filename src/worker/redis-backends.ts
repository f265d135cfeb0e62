import { createRedisBroker } from "../broker/create-broker.js";
import { createRedisIngress } from "../publish/create-ingress.js";
import { createRedisChannelState } from "../state/create-channel-state.js";
import { startRedisWebhooks } from "../webhooks/redis-webhooks.js";
import type { CreateBackends } from "./backends.js";

/**
 * The Redis modes' backends. Only src/main.ts imports this module, dynamically and only when
 * `redis.mode` is not "none": ioredis and the Redis broker, state, ingress and webhook code were
 * loaded by every embedded worker too, and grew each one's idle heap (docs/benchmarks.md, "Idle
 * tree against the baseline").
 */
export const createRedisBackends: CreateBackends = (config, logger, { observer, registry }) => {
  const broker = createRedisBroker(config, logger, observer);
  return {
    broker,
    ingress: createRedisIngress(config, broker, logger),
    channelState: createRedisChannelState(config, logger, broker),
    webhooks: startRedisWebhooks(config, registry, logger.child({ module: "webhooks" })),
  };
};
