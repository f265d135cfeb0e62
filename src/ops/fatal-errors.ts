import type { Logger } from "./logger.js";

/**
 * Logs an uncaught exception or unhandled rejection at fatal, with the process's role and worker
 * bindings and the error's stack, then exits 1. Node's default would print a bare stack to stderr
 * (or nothing pino-shaped at all), and an operator could not tell which process died of what.
 * The process still exits: its state is unknown after such an error, and the primary respawns a
 * worker (pm2 or systemd restart a primary).
 */
export function exitOnFatalErrors(logger: Logger): void {
  process.on("uncaughtException", (err, origin) => {
    logger.fatal({ err, origin }, "uncaught exception; exiting");
    process.exit(1);
  });
  process.on("unhandledRejection", (reason) => {
    logger.fatal({ err: reason }, "unhandled promise rejection; exiting");
    process.exit(1);
  });
}
