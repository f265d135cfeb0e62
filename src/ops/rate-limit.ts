import { RateLimiterMemory, RateLimiterQueue, RateLimiterQueueError, RateLimiterRes } from "rate-limiter-flexible";
import { PusherError } from "../protocol/errors.js";

/** A per-key budget of `perSecond` operations in this process; 0 means unlimited. */
export class RateLimit {
  private readonly limiter: RateLimiterMemory | undefined;

  constructor(perSecond: number) {
    this.limiter = perSecond > 0 ? new RateLimiterMemory({ points: perSecond, duration: 1 }) : undefined;
  }

  /** Spends `cost` from `key`'s budget or throws `rate_limited` with the seconds to wait. */
  async take(key: string, cost = 1): Promise<void> {
    if (!this.limiter) return;
    try {
      await this.limiter.consume(key, cost);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) throw new PusherError("rate_limited", undefined, Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
      throw rejection;
    }
  }
}

/**
 * Admits `perSecond` operations and queues the surplus, up to `queueSeconds` worth, rather than
 * refusing it: a reconnect storm is spread over seconds instead of bounced (plain socket.io
 * clients do not retry a connection refused by middleware). 0 per second means unlimited.
 */
export class PacedRate {
  private readonly queue: RateLimiterQueue | undefined;

  constructor(perSecond: number, queueSeconds: number) {
    this.queue =
      perSecond > 0
        ? new RateLimiterQueue(new RateLimiterMemory({ points: perSecond, duration: 1 }), { maxQueueSize: Math.max(1, perSecond * queueSeconds) })
        : undefined;
  }

  /** Waits for a turn, or throws `rate_limited` when the queue is full. */
  async take(): Promise<void> {
    if (!this.queue) return;
    try {
      await this.queue.removeTokens(1);
    } catch (err) {
      if (err instanceof RateLimiterQueueError) throw new PusherError("rate_limited", "too many new connections queued; retry with backoff");
      throw err;
    }
  }
}
