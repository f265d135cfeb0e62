/**
 * Delays for reconnecting after the server closed the socket on purpose. socket.io does not
 * reconnect by itself after "io server disconnect", and a host that drains or sheds load
 * disconnects many clients at once: without jitter they would all come back in the same
 * millisecond and recreate the stampede the server was avoiding.
 */
export interface ReconnectDelayOptions {
  /** Wait used when the server gave no `retryAfterMs`. */
  defaultDelayMs: number;
  /** Up to this much random extra wait is added to every delay. */
  jitterMs: number;
  /** Ceiling for the backoff after repeated refusals. */
  maxDelayMs: number;
}

export const defaultReconnectDelay: ReconnectDelayOptions = {
  defaultDelayMs: 1000,
  jitterMs: 1000,
  maxDelayMs: 30_000,
};

/**
 * The wait before reconnect attempt number `attempt` (0 for the first): the server's advice when
 * given, else the default doubled per failed attempt and capped, plus uniform jitter.
 */
export function reconnectDelayMs(
  options: ReconnectDelayOptions,
  attempt: number,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const base = retryAfterMs ?? options.defaultDelayMs * 2 ** Math.min(attempt, 16);
  return Math.min(base, options.maxDelayMs) + Math.floor(random() * options.jitterMs);
}
