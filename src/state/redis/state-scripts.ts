import type { Redis } from "ioredis";
import { registerScripts, type LuaRunner } from "../../redis-client/lua-scripts.js";

/**
 * Channel state in Redis, changed only by these scripts so that each change, the decision it
 * implies (occupied/vacated, member added/removed), its webhook event and its signal to the
 * other workers are one atomic step, replicated as one unit.
 *
 * Keys, under the configured prefix P (docs/architecture.md, "Presence and channel state"):
 * - P st:workers          zset worker id → lease expiry (ms, server clock)
 * - P st:occupied         hash channel → subscribers on all workers (only occupied channels)
 * - P st:sw:<channel>     hash worker → its subscribers on the channel
 * - P st:wc:<worker>      set of channels the worker contributes to (what its reaping undoes)
 * - P st:pw:<worker>:<ch> hash user → the user's connections on that worker
 * - P st:pu:<channel>     hash user → the user's connections on all workers
 * - P st:pm:<channel>     hash user → info JSON (the member list)
 * - P webhooks:queue      list of webhook event JSON (webhook-events.ts), RPUSHed here
 * - P fanout              member changes ride the message fan-out as entries `x <signal JSON>`:
 *                         no offset, not in history, ignored by the message path.
 */

// Every script: ARGV[1] prefix, ARGV[2] worker id, ARGV[3] fan-out max length, ARGV[4] the most
// webhook events queued (0: webhooks off, record none; past it the oldest go, so an absent
// sender cannot fill Redis).
const PRELUDE = `
local P, W, FLEN, WMAX = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local t = redis.call('TIME')
local NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function record(name, channel, user)
  local e = { name = name, channel = channel, time_ms = NOW }
  if user then e.user_id = user end
  if WMAX == 0 then return end
  if redis.call('RPUSH', P .. 'webhooks:queue', cjson.encode(e)) > WMAX then redis.call('LTRIM', P .. 'webhooks:queue', -WMAX, -1) end
end
local function signal(name, channel, user, info)
  local member = '{"id":' .. cjson.encode(user)
  if info ~= '' then member = member .. ',"info":' .. info end
  local s = '{"t":"' .. name .. '","channel":' .. cjson.encode(channel) .. ',"member":' .. member .. '}}'
  redis.call('XADD', P .. 'fanout', 'MAXLEN', '~', FLEN, '*', 'x', s)
end
-- Sets a count in a hash (0 deletes the field); returns the count it replaced.
local function set_count(key, field, n)
  local old = tonumber(redis.call('HGET', key, field) or '0')
  if n == old then return old end
  if n > 0 then redis.call('HSET', key, field, n) else redis.call('HDEL', key, field) end
  return old
end
-- Adds to a total kept only while positive; returns the total before and after.
local function add_total(key, field, delta)
  local total = redis.call('HINCRBY', key, field, delta)
  if total <= 0 then redis.call('HDEL', key, field) end
  return total - delta, total
end
local function set_subscribers(channel, n)
  local old = set_count(P .. 'st:sw:' .. channel, W, n)
  if n == old then return end
  if n > 0 then redis.call('SADD', P .. 'st:wc:' .. W, channel) else redis.call('SREM', P .. 'st:wc:' .. W, channel) end
  local before, total = add_total(P .. 'st:occupied', channel, n - old)
  if before > 0 and total <= 0 then record('channel_vacated', channel) end
  if before <= 0 and total > 0 then record('channel_occupied', channel) end
end
local function set_member(channel, user, info, n)
  local old = set_count(P .. 'st:pw:' .. W .. ':' .. channel, user, n)
  if n == old then return end
  if n > 0 then redis.call('SADD', P .. 'st:wc:' .. W, channel) end
  local pm = P .. 'st:pm:' .. channel
  local before, total = add_total(P .. 'st:pu:' .. channel, user, n - old)
  if total <= 0 then
    local held = redis.call('HGET', pm, user) or ''
    redis.call('HDEL', pm, user)
    if before > 0 then
      record('member_removed', channel, user)
      signal('member_removed', channel, user, held)
    end
  elseif before <= 0 then
    redis.call('HSET', pm, user, info)
    record('member_added', channel, user)
    signal('member_added', channel, user, info)
  end
end
local function apply(from)
  local i = from
  while i <= #ARGV do
    if ARGV[i] == 's' then
      set_subscribers(ARGV[i + 1], tonumber(ARGV[i + 2]))
      i = i + 3
    else
      set_member(ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4]))
      i = i + 5
    end
  end
end
`;

/** ARGV: the four of every script, then entries (s channel count | m channel user info count). */
const SYNC = `${PRELUDE}
apply(5)
return 1
`;

/**
 * A presence connection joins unless the channel is full. ARGV: the four of every script,
 * channel, user, maxMembers (0 = no limit), then entries. Returns {0} when full, else {1, members
 * as HGETALL gives them}: the list and the join are one step, so later member signals follow it.
 */
const JOIN = `${PRELUDE}
local channel, user, max = ARGV[5], ARGV[6], tonumber(ARGV[7])
local pu = P .. 'st:pu:' .. channel
if max > 0 and redis.call('HEXISTS', pu, user) == 0 and redis.call('HLEN', pu) >= max then return { 0 } end
apply(8)
return { 1, redis.call('HGETALL', P .. 'st:pm:' .. channel) }
`;

/** ARGV: the four of every script, leaseMs. Renews the lease; returns 1 if it had lapsed or was lost. */
const LEASE = `${PRELUDE}
local lost = redis.call('ZSCORE', P .. 'st:workers', W) == false
redis.call('ZADD', P .. 'st:workers', NOW + tonumber(ARGV[5]), W)
if lost then return 1 end
return 0
`;

/**
 * Undoes up to ARGV[5] channels of one worker: with ARGV[6] = "self" this worker (it is stopping),
 * else one whose lease lapsed. Returns the worker undone and how many of its channels remain, or {}.
 */
const REAP = `${PRELUDE}
if ARGV[6] ~= 'self' then
  local dead = redis.call('ZRANGEBYSCORE', P .. 'st:workers', '-inf', NOW, 'LIMIT', 0, 1)[1]
  if not dead then return {} end
  W = dead
end
local wc = P .. 'st:wc:' .. W
for _, channel in ipairs(redis.call('SRANDMEMBER', wc, tonumber(ARGV[5]))) do
  local pw = P .. 'st:pw:' .. W .. ':' .. channel
  local users = redis.call('HKEYS', pw)
  for _, user in ipairs(users) do set_member(channel, user, '', 0) end
  redis.call('DEL', pw)
  set_subscribers(channel, 0)
  redis.call('SREM', wc, channel)
end
local left = redis.call('SCARD', wc)
if left == 0 then redis.call('ZREM', P .. 'st:workers', W) end
return { W, left }
`;

/**
 * What this worker holds in Redis, for a re-assert to clear what it no longer has.
 * ARGV: the four of every script. Returns {channel, {users...}, ...}.
 */
const HELD = `${PRELUDE}
local out = {}
for _, channel in ipairs(redis.call('SMEMBERS', P .. 'st:wc:' .. W)) do
  table.insert(out, channel)
  table.insert(out, redis.call('HKEYS', P .. 'st:pw:' .. W .. ':' .. channel))
end
return out
`;

const SCRIPTS = { pusherStateSync: SYNC, pusherStateJoin: JOIN, pusherStateLease: LEASE, pusherStateReap: REAP, pusherStateHeld: HELD } as const;
export type StateScriptRunner = LuaRunner<keyof typeof SCRIPTS>;

export function defineStateScripts(client: Redis): StateScriptRunner {
  return registerScripts(client, SCRIPTS);
}
