import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import type { WebhookScripts } from "./redis-queue-scripts.js";
import type { WebhookEvent } from "./webhook-events.js";
import type { QueuedBatch, WebhookQueue } from "./webhook-queue.js";

export interface RedisQueueKeys {
  /** The URL's list of event JSON, oldest first. */
  list: string;
  /** Who sends this URL's list: "<hostname>:<pid>" of one worker, expiring unless renewed. */
  lease: string;
  /** How many events the bound has trimmed from the list's head, ever: lets a removal skip them. */
  dropped: string;
}

/**
 * One URL's queue in Redis, sent by whichever worker of the deployment holds its lease. The holder
 * renews the lease a few times per lease period; a holder that dies stops renewing, and after at
 * most `leaseMs` another worker takes the lease and resends the batch the dead one had in flight
 * (events leave the list only after a 2xx), so none is lost and at most a batch is repeated.
 */
export class RedisQueue implements WebhookQueue {
  #renewal: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: Redis,
    private readonly scripts: WebhookScripts,
    private readonly keys: RedisQueueKeys,
    private readonly owner: string,
    private readonly leaseMs: number,
    /** Moves newly recorded events into every URL's list; run by holders before they look. */
    private readonly distribute: () => Promise<void>,
  ) {}

  async hold(): Promise<boolean> {
    const held = await this.scripts.hold(this.keys.lease, this.owner, this.leaseMs);
    if (held) this.#renewal ??= setInterval(() => void this.#renew(), Math.max(1, Math.floor(this.leaseMs / 3))).unref();
    else this.#stopRenewal();
    return held;
  }

  async peek(max: number): Promise<QueuedBatch> {
    await this.distribute();
    const [droppedBefore, entries] = await this.scripts.peek(this.keys.list, this.keys.dropped, max);
    // DISTRIBUTE let only JSON objects with a name and channel into the list.
    return { events: entries.map((entry) => JSON.parse(entry) as WebhookEvent), droppedBefore };
  }

  remove(batch: QueuedBatch): Promise<boolean> {
    return this.scripts.remove(this.keys, this.owner, batch.events.length, batch.droppedBefore);
  }

  /** Redis has nothing to wait on cheaply for a plain list: the sender polls every `ms`. */
  async wait(ms: number, signal: AbortSignal): Promise<void> {
    await sleep(ms, undefined, { signal }).catch(() => undefined);
  }

  async release(): Promise<void> {
    this.#stopRenewal();
    await this.scripts.release(this.keys.lease, this.owner);
  }

  length(): Promise<number> {
    return this.client.llen(this.keys.list);
  }

  async #renew(): Promise<void> {
    const held = await this.scripts.hold(this.keys.lease, this.owner, this.leaseMs).catch(() => true);
    if (!held) this.#stopRenewal();
  }

  #stopRenewal(): void {
    clearInterval(this.#renewal);
    this.#renewal = undefined;
  }
}
