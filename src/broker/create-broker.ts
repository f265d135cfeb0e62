import { ConfigError } from "../config/load.js";
import type { PusherConfig } from "../config/schema.js";
import type { Broker } from "./broker.js";
import { EmbeddedBroker } from "./embedded/embedded-broker.js";
import { processTransport } from "./transport.js";

/** The worker's broker for the configured `redis.mode`. */
export function createWorkerBroker(config: PusherConfig): Broker {
  switch (config.redis.mode) {
    case "none":
      return new EmbeddedBroker(processTransport(process), config.publish.timeoutMs);
    default:
      throw new ConfigError(`redis.mode "${config.redis.mode}" is not available in this release; set redis.mode (PUSHER_REDIS_MODE) to "none"`);
  }
}
