/** A fixed-capacity FIFO that drops its oldest item on overflow: one channel's history. */
export class RingBuffer<T> {
  private readonly items: (T | undefined)[];
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.capacity === 0) return;
    this.items[(this.start + this.count) % this.capacity] = item;
    if (this.count < this.capacity) this.count++;
    else this.start = (this.start + 1) % this.capacity;
  }

  /** The item `index` places after the oldest. */
  at(index: number): T | undefined {
    return index >= 0 && index < this.count ? this.items[(this.start + index) % this.capacity] : undefined;
  }

  /** Drops the oldest items while `predicate` holds for them. */
  dropWhile(predicate: (item: T) => boolean): void {
    while (this.count > 0 && predicate(this.items[this.start] as T)) {
      this.items[this.start] = undefined;
      this.start = (this.start + 1) % this.capacity;
      this.count--;
    }
  }
}
