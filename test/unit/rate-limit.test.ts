import assert from "node:assert/strict";
import test from "node:test";
import { PacedRate, RateLimit } from "../../src/ops/rate-limit.js";
import { PusherError } from "../../src/protocol/errors.js";

// src/ops/rate-limit.ts loads rate-limiter-flexible's classes file by file: these fail (at
// import, or on a class that is not the one the rejection is tested against) if an upgrade moves them.

test("RateLimit spends a key's budget, then refuses with rate_limited and a Retry-After", async () => {
  const limit = new RateLimit(2);
  await limit.take("k");
  await limit.take("k");
  await assert.rejects(limit.take("k"), (err: unknown) => err instanceof PusherError && err.code === "rate_limited" && err.retryAfter === 1);
  // Another key has its own budget.
  await limit.take("other");
});

test("RateLimit(0) never refuses", async () => {
  const limit = new RateLimit(0);
  for (let i = 0; i < 100; i++) await limit.take("k");
});

test("PacedRate queues the surplus up to its bound and refuses beyond it with rate_limited", async () => {
  // 1 per second, a queue of 1 second's worth: the first goes at once, the second waits its
  // turn, the third finds the queue full.
  const paced = new PacedRate(1, 1);
  await paced.take();
  const queued = paced.take();
  await assert.rejects(paced.take(), (err: unknown) => err instanceof PusherError && err.code === "rate_limited");
  await queued;
});
