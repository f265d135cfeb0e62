/**
 * Delay before retry number `attempt` (0 first): doubling from `minMs`, capped at `maxMs`, then
 * jittered down by up to half, so hosts that failed together do not retry in step.
 */
export function retryDelayMs(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
