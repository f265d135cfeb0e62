import type { Logger } from "../ops/logger.js";

/** Logs a repeating warning at most once per `intervalMs`; each line counts the ones left out. */
export class ThrottledWarning {
  #last = -Infinity;
  #suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 10_000,
  ) {}

  warn(fields: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    if (now - this.#last < this.intervalMs) {
      this.#suppressed++;
      return;
    }
    this.logger.warn({ ...fields, suppressed: this.#suppressed }, msg);
    this.#last = now;
    this.#suppressed = 0;
  }
}
