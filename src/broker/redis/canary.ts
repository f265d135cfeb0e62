import { randomUUID } from "node:crypto";
import { PusherError } from "../../protocol/errors.js";

/**
 * Readiness: a canary written to the fan-out (so it needs a writable master) and read back by
 * this worker's own reader, which hands every canary it reads to `seen`.
 */
export class Canary {
  private readonly waiting = new Map<string, () => void>();

  /** `write` appends the canary entry carrying `nonce` to the fan-out. */
  constructor(private readonly write: (nonce: string) => Promise<unknown>) {}

  seen(nonce: string): void {
    this.waiting.get(nonce)?.();
  }

  async probe(timeoutMs: number): Promise<void> {
    const nonce = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const seen = new Promise<void>((resolve, reject) => {
      this.waiting.set(nonce, resolve);
      timer = setTimeout(() => reject(new PusherError("unavailable", `the canary did not come back through Redis within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.all([this.write(nonce), seen]);
    } catch (err) {
      throw err instanceof PusherError ? err : new PusherError("unavailable", `the canary did not come back through Redis: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
      this.waiting.delete(nonce);
    }
  }
}
