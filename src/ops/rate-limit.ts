import { createRequire } from "node:module";
import type * as Flexible from "rate-limiter-flexible";
import { PusherError } from "../protocol/errors.js";

// The four classes used here, each from its own file: the package's index loads every store it
// supports (Redis, Mongo, SQL, Etcd, ...), ~1 MB of heap (after a full GC) in every worker for nothing. Its
// package.json has no "exports", so these paths are public; test/unit/rate-limit.test.ts breaks
// if an upgrade moves them.
const require = createRequire(import.meta.url);
const RateLimiterMemory = require("rate-limiter-flexible/lib/RateLimiterMemory.js") as typeof Flexible.RateLimiterMemory;
const RateLimiterQueue = require("rate-limiter-flexible/lib/RateLimiterQueue.js") as typeof Flexible.RateLimiterQueue;
const RateLimiterQueueError = require("rate-limiter-flexible/lib/component/RateLimiterQueueError.js") as typeof Flexible.RateLimiterQueueError;
const RateLimiterRes = require("rate-limiter-flexible/lib/RateLimiterRes.js") as typeof Flexible.RateLimiterRes;

/** A per-key budget of `perSecond` operations in this process; 0 means unlimited. */
export class RateLimit {
  private readonly limiter: Flexible.RateLimiterMemory | undefined;

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
  private readonly queue: Flexible.RateLimiterQueue | undefined;

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
