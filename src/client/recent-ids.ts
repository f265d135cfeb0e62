/**
 * The ids of the last messages handed to the application on one channel. Offsets cannot tell a
 * message written twice: after a failover that lost the first copy's epoch, the second copy (the
 * server's retry of an unknown outcome, or a publisher's retry with the same `id`) comes in the new
 * epoch at a new offset. Its id is the same, so it is dropped here. Bounded: oldest ids go first.
 */
export class RecentIds {
  readonly #ids = new Set<string>();

  constructor(readonly capacity: number) {}

  /** True when `id` was handed over already; otherwise remembers it and returns false. */
  seen(id: string): boolean {
    if (this.#ids.has(id)) return true;
    this.#ids.add(id);
    // A Set iterates in insertion order: the first value is the oldest.
    if (this.#ids.size > this.capacity) this.#ids.delete(this.#ids.values().next().value!);
    return false;
  }
}
