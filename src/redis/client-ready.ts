import type { Redis } from "ioredis";

/**
 * Waits for an ioredis client to be ready, for as long as it takes, unless cancelled. Unlike
 * `events.once`, connection errors on the way do not reject: reconnecting is the client's job.
 */
export class ClientReady {
  private readonly waiters = new Set<() => void>();
  private cancelled = false;

  constructor(private readonly client: Redis) {}

  /** Resolves true once ready, or false when cancelled. */
  async wait(): Promise<boolean> {
    while (!this.cancelled && this.client.status !== "ready") {
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.client.off("ready", wake);
          this.waiters.delete(wake);
          resolve();
        };
        this.client.on("ready", wake);
        this.waiters.add(wake);
      });
    }
    return !this.cancelled;
  }

  cancel(): void {
    this.cancelled = true;
    for (const wake of [...this.waiters]) wake();
  }
}
