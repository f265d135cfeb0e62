import type { Redis } from "ioredis";

/**
 * Waits for an ioredis client to be ready, for as long as it takes, unless cancelled. Unlike
 * `events.once`, connection errors on the way do not reject: reconnecting is the client's job.
 * Every waiter of one outage shares one listener (hundreds of publishes may wait at once).
 */
export class ClientReady {
  private pending: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private cancelled = false;

  constructor(private readonly client: Redis) {}

  /** Resolves true once ready, or false when cancelled. */
  async wait(): Promise<boolean> {
    while (!this.cancelled && this.client.status !== "ready") {
      this.pending ??= new Promise<void>((resolve) => {
        const wake = (): void => {
          this.client.off("ready", wake);
          this.pending = undefined;
          this.wake = undefined;
          resolve();
        };
        this.wake = wake;
        this.client.on("ready", wake);
      });
      await this.pending;
    }
    return !this.cancelled;
  }

  cancel(): void {
    this.cancelled = true;
    this.wake?.();
  }
}
