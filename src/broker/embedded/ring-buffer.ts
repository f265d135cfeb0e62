/** The slots a ring takes on its first item; it doubles from there up to its capacity. */
const INITIAL_SLOTS = 4;

/**
 * A FIFO of at most `capacity` items that drops its oldest on overflow: one channel's history.
 * Its storage grows on demand and is released when it empties, so the many channels that hold a
 * message or two (or none any more) cost a few slots each, not `history.size` slots.
 */
export class RingBuffer<T> {
  private items: (T | undefined)[] = [];
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.capacity === 0) return;
    if (this.count === this.items.length && this.items.length < this.capacity) this.grow();
    this.items[(this.start + this.count) % this.items.length] = item;
    if (this.count < this.items.length) this.count++;
    else this.start = (this.start + 1) % this.items.length;
  }

  /** The item `index` places after the oldest. */
  at(index: number): T | undefined {
    return index >= 0 && index < this.count ? this.items[(this.start + index) % this.items.length] : undefined;
  }

  /** Drops the oldest items while `predicate` holds for them. */
  dropWhile(predicate: (item: T) => boolean): void {
    while (this.count > 0 && predicate(this.items[this.start] as T)) {
      this.items[this.start] = undefined;
      this.start = (this.start + 1) % this.items.length;
      this.count--;
    }
    if (this.count === 0) {
      this.items = [];
      this.start = 0;
    }
  }

  private grow(): void {
    const next = new Array<T | undefined>(Math.min(this.capacity, Math.max(INITIAL_SLOTS, this.items.length * 2)));
    for (let i = 0; i < this.count; i++) next[i] = this.at(i);
    this.items = next;
    this.start = 0;
  }
}
