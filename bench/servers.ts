/**
 * The servers under test, each described once so one runner drives them all the same way:
 * same worker count, same process shape, same load.
 */
import path from "node:path";
import { DEV_API_KEY } from "../src/config/schema.js";
import type { SubscriberClient } from "./failover/protocol.js";
import { ROOT } from "../test/helpers/root.js";

const DIST = path.join(ROOT, "dist");

export interface ServerDescriptor {
  name: string;
  /** Compiled entry point, run with `node`. */
  script: string;
  env(workers: number): Record<string, string>;
  /** `msg` of the JSON log line printed once the server accepts connections (it carries `port`). */
  readyMsg: string;
  /** Path of the batch publish endpoint, which takes `{ messages: [{ channel, event, data }] }`. */
  batchPath: string;
  /** Path of the single publish endpoint, which takes `{ channel, event, data }`. */
  publishPath: string;
  /** Env that puts the server on a Redis Sentinel topology (`sentinels` as "h:p,h:p"), for host-to-host fan-out. */
  sentinelEnv(sentinels: string, name: string): Record<string, string>;
  /** How the failover bench subscribes: how an application on this server gets back what it missed. */
  client: SubscriberClient;
  publishHeaders: Record<string, string>;
  /** Messages accepted in one batch request. */
  maxBatch: number;
}

export const baseline: ServerDescriptor = {
  name: "baseline",
  script: path.join(DIST, "bench", "baseline-server.js"),
  env: (workers) => ({ BASELINE_PORT: "0", BASELINE_HOST: "127.0.0.1", BASELINE_WORKERS: String(workers) }),
  readyMsg: "baseline ready",
  batchPath: "/batch",
  publishPath: "/publish",
  sentinelEnv: (sentinels, name) => ({ BASELINE_REDIS_SENTINELS: sentinels, BASELINE_REDIS_NAME: name }),
  client: "socket.io",
  publishHeaders: {},
  maxBatch: 100,
};

export const pusher: ServerDescriptor = {
  name: "pusher",
  script: path.join(DIST, "src", "main.js"),
  env: (workers) => ({
    NODE_ENV: "test",
    PUSHER_PORT: "0",
    PUSHER_HOST: "127.0.0.1",
    PUSHER_WORKERS: String(workers),
    PUSHER_LOG_FORMAT: "json",
    // The bench measures throughput, not admission control: lift the limits that would shape it.
    PUSHER_PUBLISH_RATE_PER_SECOND: "0",
    PUSHER_CONNECTION_RATE_PER_SECOND: "0",
    PUSHER_MAX_CONNECTIONS: "0",
  }),
  readyMsg: "pusher ready",
  batchPath: "/v1/batch",
  publishPath: "/v1/publish",
  sentinelEnv: (sentinels, name) => ({ PUSHER_REDIS_MODE: "sentinel", PUSHER_REDIS_SENTINELS: sentinels, PUSHER_REDIS_NAME: name }),
  client: "pusher",
  publishHeaders: { authorization: `Bearer ${DEV_API_KEY}` },
  maxBatch: 100,
};

export const servers: readonly ServerDescriptor[] = [baseline, pusher];
