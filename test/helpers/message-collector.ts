import type { Message } from "../../src/protocol/messages.js";
import { withTimeout } from "./with-timeout.js";

/**
 * Records what a subscriber is given and lets a test await a count or a condition: the one
 * collector for sockets, client helper subscriptions and brokers, so "wait for n messages" fails
 * the same way everywhere (with what it had).
 */
export class MessageCollector {
  readonly messages: Message[] = [];
  readonly #waiters = new Set<{ done: () => boolean; resolve: () => void }>();

  /** Records messages; an arrow function, so it can be passed as a handler directly. */
  readonly add = (...messages: Message[]): void => {
    this.messages.push(...messages);
    for (const waiter of this.#waiters) {
      if (waiter.done()) {
        this.#waiters.delete(waiter);
        waiter.resolve();
      }
    }
  };

  /** Resolves with every message so far once at least `count` have arrived. */
  waitFor(count: number, timeoutMs = 15_000): Promise<Message[]> {
    return this.until(() => this.messages.length >= count, timeoutMs, () => `${count} messages (have ${this.messages.length})`);
  }

  /** Resolves with every message so far once `done` holds; `what` says, when it times out, what was missing. */
  async until(done: () => boolean, timeoutMs: number, what: () => string): Promise<Message[]> {
    if (done()) return this.messages;
    const waiter = { done, resolve: (): void => undefined };
    const reached = new Promise<void>((resolve) => {
      waiter.resolve = resolve;
      this.#waiters.add(waiter);
    });
    try {
      // Described when the wait ends, not when it starts: the message then says what had arrived.
      await withTimeout(reached, timeoutMs, "messages");
    } catch {
      this.#waiters.delete(waiter);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    }
    return this.messages;
  }
}
