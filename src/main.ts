import cluster from "node:cluster";
import { fileURLToPath } from "node:url";
import { ConfigError, loadConfig } from "./config/load.js";
import type { PusherConfig } from "./config/schema.js";
import { exitOnFatalErrors } from "./ops/fatal-errors.js";
import { createLogger } from "./ops/logger.js";

/** Configuration errors exit with EX_CONFIG (78), which systemd and operators can tell from a crash. */
const EX_CONFIG = 78;

function configurationError(err: unknown): never {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`pusher: configuration error: ${err.message}\n`);
  process.exit(EX_CONFIG);
}

/**
 * A Sentinel setting that names no reachable sentinel or an unknown master is refused before any
 * worker starts, with what to change, instead of workers retrying it for ever.
 */
async function checkRedis(config: PusherConfig): Promise<void> {
  if (config.redis.mode !== "sentinel") return;
  const { checkSentinelConfig } = await import("./redis-client/sentinel-admin.js");
  await checkSentinelConfig(config.redis);
}

async function start(): Promise<void> {
  let config: PusherConfig;
  try {
    config = loadConfig();
  } catch (err) {
    configurationError(err);
  }
  const logger = cluster.isPrimary
    ? createLogger(config.log, { role: "primary" })
    : createLogger(config.log, { role: "worker", worker: Number(process.env.PUSHER_WORKER_INDEX ?? 0) });
  exitOnFatalErrors(logger);
  if (cluster.isPrimary) {
    await checkRedis(config).catch(configurationError);
    // Each role loads only its own modules: the primary never serves a socket, a worker never
    // routes, and every module loaded costs each process of the tree its memory.
    const { runPrimary } = await import("./primary/run-primary.js");
    runPrimary(config, logger, fileURLToPath(import.meta.url));
  } else {
    const { runWorker } = await import("./worker/run-worker.js");
    // Embedded workers never load ioredis and the Redis backends (src/worker/redis-backends.ts).
    const createBackends =
      config.redis.mode === "none"
        ? (await import("./worker/backends.js")).createEmbeddedBackends
        : (await import("./worker/redis-backends.js")).createRedisBackends;
    runWorker(config, logger, createBackends);
  }
}

await start();
