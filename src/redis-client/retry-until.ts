import { setTimeout as delay } from "node:timers/promises";

export interface RetryOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Aborting stops the retries at once, rejecting with the signal's reason (e.g. the process died). */
  signal?: AbortSignal;
}

/**
 * Runs `attempt` until it resolves, pausing `intervalMs` after each failure. An attempt reports
 * "not yet" by throwing an error that says what is still missing; past the deadline that last
 * error is rejected, so the caller's message says what never happened.
 */
export async function retryUntil<T>(attempt: () => Promise<T>, { timeoutMs, intervalMs = 50, signal }: RetryOptions): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    try {
      return await attempt();
    } catch (err) {
      signal?.throwIfAborted();
      if (Date.now() + intervalMs > deadline) throw err;
    }
    await delay(intervalMs, undefined, { signal }).catch(() => undefined);
  }
}
