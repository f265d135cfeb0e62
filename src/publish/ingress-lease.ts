import type { Redis } from "ioredis";
import { registerScripts, type LuaRunner } from "../redis-client/lua-scripts.js";

type Entry = [id: string, fields: string[]];

/** What a leader's read found: entries, or nothing after `lastId`; `lost` when it no longer leads. */
export type LeaderRead = { lost: true } | { lost: false; entries: Entry[]; lastId: string };

// ARGV: lease key, consumer, lease ms, stream, group, count. The lease is checked, renewed and the
// entries read in one atomic step: a worker whose lease lapsed can never read another entry.
const READ = `
if redis.call('GET', ARGV[1]) ~= ARGV[2] then return false end
redis.call('PEXPIRE', ARGV[1], ARGV[3])
local read = redis.call('XREADGROUP', 'GROUP', ARGV[5], ARGV[2], 'COUNT', ARGV[6], 'STREAMS', ARGV[4], '>')
if read then return { 1, read[1][2] } end
local last = redis.call('XREVRANGE', ARGV[4], '+', '-', 'COUNT', 1)
return { 0, last[1] and last[1][1] or '0-0' }
`;

// ARGV: lease key, consumer.
const RELEASE = `
if redis.call('GET', ARGV[1]) == ARGV[2] then redis.call('DEL', ARGV[1]) end
return 1
`;

/**
 * The lease that makes one worker of a deployment the only reader of the ingress at a time: two
 * consumers of one group publish what they read concurrently, so entries of one channel would
 * overtake each other. Taken with SET NX PX, renewed by every read, free once it lapses (its
 * holder died or lost Redis) or its holder let it go.
 */
export class IngressLease {
  private readonly run: LuaRunner<"pusherIngressRead" | "pusherIngressRelease">;

  constructor(
    private readonly client: Redis,
    private readonly key: string,
    private readonly consumer: string,
    private readonly leaseMs: number,
  ) {
    this.run = registerScripts(client, { pusherIngressRead: READ, pusherIngressRelease: RELEASE });
  }

  /** True when this consumer holds the lease now (it took it, or already held it). */
  async acquire(): Promise<boolean> {
    if ((await this.client.set(this.key, this.consumer, "PX", this.leaseMs, "NX")) === "OK") return true;
    return (await this.client.get(this.key)) === this.consumer;
  }

  /** Renews the lease and reads up to `count` new entries, as long as this consumer holds it. */
  async read(stream: string, group: string, count: number): Promise<LeaderRead> {
    const reply = (await this.run("pusherIngressRead", [this.key, this.consumer, this.leaseMs, stream, group, count])) as [number, Entry[] | string] | null;
    if (reply === null) return { lost: true };
    const [found, value] = reply;
    if (found === 1) {
      const entries = value as Entry[];
      return { lost: false, entries, lastId: entries[entries.length - 1]![0] };
    }
    return { lost: false, entries: [], lastId: value as string };
  }

  async release(): Promise<void> {
    await this.run("pusherIngressRelease", [this.key, this.consumer]);
  }
}
