import type { Redis } from "ioredis";
import { registerScripts, type LuaRunner } from "../../redis-client/lua-scripts.js";

/**
 * The Redis side of the broker: each script is one atomic step, so a publish is one round trip
 * and a failover can never split it (the replication stream carries the script's writes as one unit).
 *
 * Keys, under the configured prefix P:
 * - P c:<channel>  hash { e: epoch, o: offset }: the channel's head; expires with the channel's idleness.
 * - P h:<channel>  stream with IDs "<offset>-0": the channel's history, trimmed to history.size,
 *                  expiring history.ttlSeconds after the last publish.
 * - P fanout       stream every worker reads from its last ID: one entry per delivered copy.
 * - P id:<id>      the offsets a publish id got, for idempotent retries.
 * - P fresh-epoch  the epoch every channel without a head answers and its first publish adopts,
 *                  replaced every metaTtl/2 (docs/architecture.md, "Channel state in Redis").
 * - P reconciled   hash worker id → the master it last reconciled on (run id and replication id).
 *
 * History and fan-out entries carry the message id (field i) after their other fields.
 */

// Shared by the scripts: the server's clock in ms, the shared fresh epoch, and a channel's head
// created on first use. A channel created again (after its head expired or was lost) takes a new
// epoch and an empty history, so offsets never restart at 1 inside an epoch a subscriber already holds.
// The fresh epoch lives half a head's TTL: a head created in it expires only after it was replaced.
const PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function fresh_epoch(prefix, minted, meta_ttl)
  local key = prefix .. 'fresh-epoch'
  local current = redis.call('GET', key)
  if current then return current end
  redis.call('SET', key, minted, 'PX', math.max(1, math.floor(tonumber(meta_ttl) / 2)))
  return minted
end
-- epoch_if_new: an epoch, or a function that gives one (read only when a head is created).
local function head(prefix, channel, epoch_if_new)
  local mk = prefix .. 'c:' .. channel
  local meta = redis.call('HMGET', mk, 'e', 'o')
  if meta[1] then return mk, meta[1], tonumber(meta[2]) end
  if type(epoch_if_new) == 'function' then epoch_if_new = epoch_if_new() end
  redis.call('HSET', mk, 'e', epoch_if_new, 'o', 0)
  redis.call('DEL', prefix .. 'h:' .. channel)
  return mk, epoch_if_new, 0
end
`;

/**
 * ARGV: prefix, historySize, historyTtlMs, metaTtlMs, mintedEpoch (the fresh epoch if none is set),
 * fanoutMaxLen, requestCount, then
 * per request: idKey ("" for none), idTtlMs, messageId, event, dataJson, channelCount, channels...
 * Returns one JSON string per request: { <channel>: [epoch, offset] } (the stored one for a repeated id).
 */
const PUBLISH = `${PRELUDE}
local prefix, size, history_ttl, meta_ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
-- Read only when a channel is created: most publishes go to channels that have a head.
local function fresh() return fresh_epoch(prefix, ARGV[5], meta_ttl) end
local fanout, fanout_len = prefix .. 'fanout', ARGV[6]
local ts = now_ms()
local results = {}
-- A run carries every publish a worker made in one tick, often many on one channel: its head is
-- read and its expiries set once per run (time stands still inside a script).
local heads = {}
local i = 8
for r = 1, tonumber(ARGV[7]) do
  local id_key, id_ttl, message_id, event, data, count = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], tonumber(ARGV[i + 5])
  i = i + 6
  local previous = false
  if id_key ~= '' then previous = redis.call('GET', id_key) end
  if previous then
    results[r] = previous
  else
    local parts = {}
    for c = 1, count do
      local channel = ARGV[i + c - 1]
      local known = heads[channel]
      local mk, epoch, offset
      if known then mk, epoch, offset = known[1], known[2], known[3] else mk, epoch, offset = head(prefix, channel, fresh) end
      offset = offset + 1
      local hk = prefix .. 'h:' .. channel
      -- First the write that can fail (an ID not above the stream's): scripts are not rolled back.
      redis.call('XADD', hk, 'MAXLEN', size, offset .. '-0', 'v', event, 'd', data, 't', ts, 'i', message_id)
      redis.call('HSET', mk, 'o', offset)
      if not known then
        redis.call('PEXPIRE', hk, history_ttl)
        redis.call('PEXPIRE', mk, meta_ttl)
      end
      heads[channel] = { mk, epoch, offset }
      redis.call('XADD', fanout, 'MAXLEN', '~', fanout_len, '*', 'c', channel, 'v', event, 'd', data, 'e', epoch, 'o', offset, 't', ts, 'i', message_id)
      parts[c] = cjson.encode(channel) .. ':[' .. cjson.encode(epoch) .. ',' .. offset .. ']'
    end
    results[r] = '{' .. table.concat(parts, ',') .. '}'
    if id_key ~= '' then redis.call('SET', id_key, results[r], 'PX', id_ttl) end
  end
  i = i + count
end
return results
`;

/**
 * ARGV: prefix, channel, mintedEpoch, metaTtlMs, sinceOffset (-1 for none).
 * Returns [epoch, offset, nowMs, entries after sinceOffset as XRANGE gives them]. Touching the
 * head keeps a channel that only has subscribers from expiring into a new epoch under them. A
 * channel without a head is not created (anyone may subscribe to any name): it answers offset 0
 * of the fresh epoch, the one its first publish will take.
 */
const HISTORY = `${PRELUDE}
local prefix, channel = ARGV[1], ARGV[2]
local mk = prefix .. 'c:' .. channel
local meta = redis.call('HMGET', mk, 'e', 'o')
if not meta[1] then return { fresh_epoch(prefix, ARGV[3], ARGV[4]), 0, now_ms(), {} } end
local epoch, offset = meta[1], tonumber(meta[2])
redis.call('PEXPIRE', mk, ARGV[4])
local since = tonumber(ARGV[5])
local entries = {}
if since >= 0 and since < offset then
  entries = redis.call('XRANGE', prefix .. 'h:' .. channel, (since + 1) .. '-0', '+')
end
return { epoch, offset, now_ms(), entries }
`;

/**
 * After a master change: for each (channel, epoch, offset) a reader delivered, a head that went
 * back below it (unreplicated writes lost) gets a fresh epoch and an empty history, because new
 * messages would otherwise reuse offsets subscribers already hold. A missing head is created the
 * same way, in the minted epoch rather than the shared fresh one, which the lost head may have held. ARGV: prefix, freshEpoch, metaTtlMs, then triples.
 * Returns [channel, epoch, offset, ...] for every channel whose head is not where the reader was.
 */
const RECONCILE = `${PRELUDE}
local prefix, fresh, meta_ttl = ARGV[1], ARGV[2], ARGV[3]
local changed = {}
for i = 4, #ARGV, 3 do
  local channel, seen_epoch, seen_offset = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local mk, epoch, offset = head(prefix, channel, fresh)
  if epoch == seen_epoch and offset < seen_offset then
    redis.call('HSET', mk, 'e', fresh, 'o', 0)
    redis.call('DEL', prefix .. 'h:' .. channel)
    epoch, offset = fresh, 0
  end
  redis.call('PEXPIRE', mk, meta_ttl)
  if epoch ~= seen_epoch or offset < seen_offset then
    table.insert(changed, channel)
    table.insert(changed, epoch)
    table.insert(changed, offset)
  end
end
return changed
`;

/**
 * A worker was handed a delivered offset again with another message (the master that held the
 * first one was lost): the channel starts a new epoch unless another worker already did.
 * ARGV: prefix, channel, divergedEpoch, freshEpoch, metaTtlMs. Returns the head [epoch, offset].
 */
const DIVERGED = `${PRELUDE}
local prefix, channel, diverged = ARGV[1], ARGV[2], ARGV[3]
local mk, epoch, offset = head(prefix, channel, ARGV[4])
if epoch == diverged then
  redis.call('HSET', mk, 'e', ARGV[4], 'o', 0)
  redis.call('DEL', prefix .. 'h:' .. channel)
  epoch, offset = ARGV[4], 0
end
redis.call('PEXPIRE', mk, ARGV[5])
return { epoch, offset }
`;

/**
 * After this worker reconciled on a master: records that, and counts the live workers (a lease in
 * the workers zset, scored by its expiry) that have not reconciled on this master yet. Forgets
 * workers without a lease that reconciled on an earlier master: that keeps the hash to the live
 * workers and those that died since the last master change, and never forgets a live worker's
 * mark on the current master (its lease may not exist yet: the broker reconciles first).
 * ARGV: reconciledKey, workerId, master, workersKey. Returns how many live workers are waited for.
 */
const RECONCILED = `${PRELUDE}
local marks, worker, master, leases = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
redis.call('HSET', marks, worker, master)
local waiting = 0
for _, live in ipairs(redis.call('ZRANGEBYSCORE', leases, '(' .. now_ms(), '+inf')) do
  if redis.call('HGET', marks, live) ~= master then waiting = waiting + 1 end
end
if waiting == 0 then
  local all = redis.call('HGETALL', marks)
  for i = 1, #all, 2 do
    if all[i + 1] ~= master and not redis.call('ZSCORE', leases, all[i]) then redis.call('HDEL', marks, all[i]) end
  end
end
return waiting
`;

const SCRIPTS = {
  pusherPublish: PUBLISH,
  pusherHistory: HISTORY,
  pusherReconcile: RECONCILE,
  pusherDiverged: DIVERGED,
  pusherReconciled: RECONCILED,
} as const;
export type ScriptRunner = LuaRunner<keyof typeof SCRIPTS>;

export function defineScripts(client: Redis): ScriptRunner {
  return registerScripts(client, SCRIPTS);
}
