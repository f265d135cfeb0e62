import { createRequire } from "node:module";
import pino, { type Logger } from "pino";
import type { PusherConfig } from "../config/schema.js";

export type { Logger };

const require = createRequire(import.meta.url);

function wantsPretty(format: PusherConfig["log"]["format"]): boolean {
  if (format !== "auto") return format === "pretty";
  return process.stdout.isTTY === true && process.env.NODE_ENV !== "production";
}

/** pino-pretty is loaded only when asked for, so production never pays for it. */
function prettyStream(): pino.DestinationStream {
  const pretty = require("pino-pretty") as (opts: object) => pino.DestinationStream;
  return pretty({ colorize: true, sync: true, ignore: "pid,hostname" });
}

/**
 * The process's root logger: JSON lines in production and under pm2/systemd, pretty on a terminal.
 * `role` and `worker` go on every line so pm2's merged logs stay attributable; modules take
 * `logger.child({ module })`.
 */
export function createLogger(config: PusherConfig["log"], bindings: { role: "primary" | "worker" | "cli"; worker?: number }): Logger {
  const options: pino.LoggerOptions = { level: config.level, base: { pid: process.pid, ...bindings } };
  return wantsPretty(config.format) ? pino(options, prettyStream()) : pino(options);
}
