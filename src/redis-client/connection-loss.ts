import type { Redis } from "ioredis";

/**
 * Fails commands whose connection closed under them. The broker's clients run with
 * autoResendUnfulfilledCommands off (it retries on its own terms after a failover), and then
 * ioredis drops the unanswered commands without ever settling their promises.
 */
export class ConnectionLoss {
  private next!: Promise<never>;
  private fail!: (err: Error) => void;

  constructor(client: Redis) {
    this.arm();
    client.on("close", () => {
      this.fail(new Error("the connection to Redis closed before it answered"));
      this.arm();
    });
  }

  /** Settles like `command`, or rejects when the connection closes first. */
  guard<T>(command: Promise<T>): Promise<T> {
    return Promise.race([command, this.next]);
  }

  private arm(): void {
    this.next = new Promise<never>((_, reject) => (this.fail = reject));
    // Nobody may be guarding when it closes.
    this.next.catch(() => undefined);
  }
}
