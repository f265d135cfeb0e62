import type { Redis } from "ioredis";
import type { Logger } from "../ops/logger.js";
import { PusherError } from "../protocol/errors.js";
import { ClientReady } from "./client-ready.js";

const RETRY_PAUSE_MS = 50;

class TimeoutError extends Error {}

/**
 * Runs commands on one connection until they succeed or their deadline passes: a connection lost
 * mid-command (a failover; ConnectionLoss fails such commands) is retried once the client is back.
 * Never claims success for a command that failed; past the deadline the caller gets 503
 * `unavailable` with Retry-After, and retries with the same publish id.
 */
export class CommandRetry {
  private readonly ready: ClientReady;
  private closed = false;

  constructor(
    client: Redis,
    private readonly logger: Logger,
  ) {
    this.ready = new ClientReady(client);
  }

  async run<T>(what: string, attempt: () => Promise<T>, deadline: number): Promise<T> {
    let lastError: unknown;
    while (!this.closed) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      try {
        return await withTimeout(attempt(), remaining);
      } catch (err) {
        if (err instanceof PusherError) throw err;
        lastError = err;
        if (!isRetryable(err)) break;
        await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
        await withTimeout(this.ready.wait(), Math.max(1, deadline - Date.now())).catch(() => undefined);
      }
    }
    const reason = lastError instanceof Error ? lastError.message : "timed out";
    this.logger.warn({ what, err: reason }, "redis did not answer in time");
    throw new PusherError("unavailable", `Redis did not answer within publish.timeoutMs (${reason}); retry later`, 1);
  }

  /** Stops retrying: waiting commands fail at once. */
  close(): void {
    this.closed = true;
    this.ready.cancel();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new TimeoutError("timed out")), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Script bugs and wrong types fail at once; lost connections, failovers and loading masters are retried. */
function isRetryable(err: unknown): boolean {
  if (err instanceof TimeoutError) return false;
  const message = err instanceof Error ? err.message : "";
  return !/^(ERR|WRONGTYPE|NOPERM|NOAUTH)/.test(message);
}
