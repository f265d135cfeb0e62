import type { Member } from "../protocol/presence.js";

/** What changed in a presence channel's member list. */
export interface MemberChanges {
  added: Member[];
  removed: Member[];
}

/**
 * A presence channel's members as the client helper keeps them. Member events are applied as
 * facts (present / absent), so one repeated or arriving before the list it is already part of
 * changes nothing; a fresh list (each subscribe ack) is compared with the held one, so the
 * application hears of every change across a reconnect exactly once.
 */
export class MemberList {
  readonly #members = new Map<string, Member>();

  get members(): ReadonlyMap<string, Member> {
    return this.#members;
  }

  /** Replaces the list with the server's; answers who came and went meanwhile. */
  replace(members: readonly Member[]): MemberChanges {
    const next = new Map(members.map((m) => [m.id, m]));
    const removed = [...this.#members.values()].filter((m) => !next.has(m.id));
    const added = members.filter((m) => !this.#members.has(m.id));
    this.#members.clear();
    for (const [id, member] of next) this.#members.set(id, member);
    return { added, removed };
  }

  /** True when the member was not held yet. */
  add(member: Member): boolean {
    const fresh = !this.#members.has(member.id);
    this.#members.set(member.id, member);
    return fresh;
  }

  /** True when the member was held. */
  remove(member: Member): boolean {
    return this.#members.delete(member.id);
  }
}
