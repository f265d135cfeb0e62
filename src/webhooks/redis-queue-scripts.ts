import type { Redis } from "ioredis";
import { registerScripts } from "../redis-client/lua-scripts.js";

/**
 * Moves what the deciding scripts recorded (KEYS[1], the seam's queue) into each URL's list
 * (KEYS[2], KEYS[4], ...), then trims each list to its newest ARGV[1] events, adding what it
 * trimmed to the list's dropped counter (KEYS[3], KEYS[5], ...). An entry that is not an event's
 * JSON is dropped here, so a bad entry cannot block a URL's queue forever.
 * ARGV[2]: entries moved per call. Returns { moved, dropped by trimming, malformed }.
 */
const DISTRIBUTE = `
local entries = redis.call('LPOP', KEYS[1], ARGV[2])
if not entries then return { 0, 0, 0 } end
local valid, malformed = {}, 0
for _, entry in ipairs(entries) do
  local ok, event = pcall(cjson.decode, entry)
  if ok and type(event) == 'table' and type(event.name) == 'string' and type(event.channel) == 'string' then
    valid[#valid + 1] = entry
  else
    malformed = malformed + 1
  end
end
local dropped = 0
if #valid > 0 then
  for i = 2, #KEYS, 2 do
    redis.call('RPUSH', KEYS[i], unpack(valid))
    local over = redis.call('LLEN', KEYS[i]) - tonumber(ARGV[1])
    if over > 0 then
      redis.call('LTRIM', KEYS[i], over, -1)
      redis.call('INCRBY', KEYS[i + 1], over)
      dropped = dropped + over
    end
  end
end
return { #valid, dropped, malformed }
`;

/** Takes or renews the URL's lease (KEYS[1]) for owner ARGV[1], for ARGV[2] ms. 1 when held. */
const HOLD = `
local owner = redis.call('GET', KEYS[1])
if owner == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not owner then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`;

/** The ARGV[1] head events of the list KEYS[1] and its dropped counter KEYS[2], read together. */
const PEEK = `
return { tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1) }
`;

/**
 * Removes an acknowledged batch of ARGV[2] events read when the dropped counter KEYS[3] was
 * ARGV[3] from the head of the list KEYS[2] (minus those trimmed since), only while ARGV[1] holds
 * the lease KEYS[1].
 */
const REMOVE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local left = tonumber(ARGV[2]) - (tonumber(redis.call('GET', KEYS[3]) or '0') - tonumber(ARGV[3]))
if left > 0 then redis.call('LTRIM', KEYS[2], left, -1) end
return 1
`;

/** Gives the lease KEYS[1] up if ARGV[1] still holds it. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`;

export interface WebhookScripts {
  distribute(keys: string[], maxQueued: number, maxMoved: number): Promise<[moved: number, dropped: number, malformed: number]>;
  hold(lease: string, owner: string, leaseMs: number): Promise<boolean>;
  peek(list: string, dropped: string, max: number): Promise<[dropped: number, entries: string[]]>;
  remove(keys: { lease: string; list: string; dropped: string }, owner: string, count: number, droppedBefore: number): Promise<boolean>;
  release(lease: string, owner: string): Promise<void>;
}

/** Registers the scripts on `client` (EVALSHA, reloaded by ioredis on a new master). */
export function defineWebhookScripts(client: Redis): WebhookScripts {
  const run = registerScripts(client, {
    pusherWebhookDistribute: { lua: DISTRIBUTE },
    pusherWebhookHold: { numberOfKeys: 1, lua: HOLD },
    pusherWebhookPeek: { numberOfKeys: 2, lua: PEEK },
    pusherWebhookRemove: { numberOfKeys: 3, lua: REMOVE },
    pusherWebhookRelease: { numberOfKeys: 1, lua: RELEASE },
  });
  return {
    distribute: async (keys, maxQueued, maxMoved) =>
      (await run("pusherWebhookDistribute", [keys.length, ...keys, maxQueued, maxMoved])) as [number, number, number],
    hold: async (lease, owner, leaseMs) => (await run("pusherWebhookHold", [lease, owner, leaseMs])) === 1,
    peek: async (list, dropped, max) => (await run("pusherWebhookPeek", [list, dropped, max])) as [number, string[]],
    remove: async ({ lease, list, dropped }, owner, count, droppedBefore) => (await run("pusherWebhookRemove", [lease, list, dropped, owner, count, droppedBefore])) === 1,
    release: async (lease, owner) => {
      await run("pusherWebhookRelease", [lease, owner]);
    },
  };
}
