import { entryPrint, type StreamEntry } from "./fanout-entries.js";
import { compareStreamIds } from "./stream-ids.js";

/**
 * The last fan-out entries a reader read, by ID and what tells their fields apart: after a
 * failover the reader looks for the newest of them the new master also holds. An ID alone does
 * not say that: two masters can write different entries under one ID in the same millisecond.
 * Bounded: the oldest entries go first.
 */
export class ReadTrail {
  private readonly ids: string[] = [];
  private readonly prints: string[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  remember([id, fields]: StreamEntry): void {
    this.ids[this.next] = id;
    this.prints[this.next] = entryPrint(fields);
    this.next = (this.next + 1) % this.capacity;
  }

  /** Whether this very entry (ID and fields) was read. */
  holds([id, fields]: StreamEntry): boolean {
    const print = entryPrint(fields);
    return this.ids.some((seen, i) => seen === id && this.prints[i] === print);
  }

  /** Whether `id` is older than every entry remembered: no entry at or below it can be found here. */
  before(id: string): boolean {
    const oldest = this.ids.length < this.capacity ? this.ids[0] : this.ids[this.next];
    return oldest === undefined || compareStreamIds(id, oldest) < 0;
  }
}

