import cluster from "node:cluster";
import { fileURLToPath } from "node:url";
import { ConfigError, loadConfig } from "./config/load.js";
import { createLogger } from "./ops/logger.js";
import { runPrimary } from "./primary/run-primary.js";
import { runWorker } from "./worker/run-worker.js";

/** Configuration errors exit with EX_CONFIG (78), which systemd and operators can tell from a crash. */
const EX_CONFIG = 78;

function start(): void {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`pusher: configuration error: ${err.message}\n`);
    process.exit(EX_CONFIG);
  }
  if (cluster.isPrimary) {
    runPrimary(config, createLogger(config.log, { role: "primary" }), fileURLToPath(import.meta.url));
  } else {
    const worker = Number(process.env.PUSHER_WORKER_INDEX ?? 0);
    const logger = createLogger(config.log, { role: "worker", worker });
    try {
      runWorker(config, logger);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      logger.fatal(err.message);
      process.exit(EX_CONFIG);
    }
  }
}

start();
