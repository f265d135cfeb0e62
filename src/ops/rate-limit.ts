import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
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
