import { PusherError } from "../protocol/errors.js";

/** A request as its sender writes it: PendingRequests adds the id. */
export type RequestBody<M> = M extends { id: number } ? Omit<M, "id"> : never;

interface Waiter {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Correlates IPC requests with their replies by id, each under its own deadline. A request that
 * outlives its deadline fails with `unavailable`, which the edges answer as 503 + Retry-After.
 */
export class PendingRequests {
  private nextId = 1;
  private readonly waiters = new Map<number, Waiter>();

  /** Allocates an id, lets `send` put the request on the wire, and waits for `settle(id, ...)`. */
  start(send: (id: number) => void, timeoutMs: number, what: string): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        reject(new PusherError("unavailable", `${what} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(id, { resolve, reject, timer });
      send(id);
    });
  }

  settle(id: number, value: unknown): void {
    this.take(id)?.resolve(value);
  }

  /** Fails one request with `error` (its peer answered that it could not serve it). */
  fail(id: number, error: Error): void {
    this.take(id)?.reject(error);
  }

  rejectAll(error: Error): void {
    for (const waiter of this.waiters.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.waiters.clear();
  }

  /** Removes a request's waiter and its deadline: it is being answered now. */
  private take(id: number): Waiter | undefined {
    const waiter = this.waiters.get(id);
    if (!waiter) return undefined;
    this.waiters.delete(id);
    clearTimeout(waiter.timer);
    return waiter;
  }
}
