import { EPOCH_LUA } from './fencing-epoch.ts';

/**
 * The Lua scripts behind the Redis store's leases, instances and rate-limit
 * buckets: one script per atomic operation, each opening with its
 * input/output contract, with the key prefix as ARGV[1] (see
 * ./record-scripts.ts for the conventions). Lease acquire and release,
 * which every item runs, are in ./batch-scripts.ts (sent in batches).
 *
 * Time is the caller's `now` (the store's clock port): expiry is decided by
 * comparing the stored `expiresAt` with the `now` passed in. Lease and
 * instance keys also carry a Redis TTL of the same length (PX, counted by
 * Redis from when the script runs), so the key of a holder that died
 * vanishes on its own even when nobody sweeps; a holder gives up before its
 * `expiresAt` (src/leases/held-lease.ts), so the server-side expiry never
 * takes a lease from a holder that still believes it holds it.
 *
 * Fencing tokens: `epoch * 2^21 + counter`, see ./fencing-epoch.ts (why,
 * and what survives a Redis restart without persistence).
 *
 * Key layout (P = prefix):
 * - `P lease:<key>`: hash owner, token, acquiredAt, expiresAt, with a PX TTL
 *   of the lease's ttl (a record with `expiresAt <= now` is expired: free
 *   for a takeover until swept or vanished);
 * - `P lease-token:<key>`: the key's latest token (kept across release,
 *   expiry and sweep, so tokens only grow); `P epoch`: the token epoch;
 * - `P leases`: zset of lease keys scored by expiresAt;
 * - `P inst:<id>`: the instance record (JSON), with a PX TTL of the
 *   heartbeat's ttl; `P instances`: zset of ids scored by expiresAt;
 * - `P window:<name>`: a rate-limit bucket's last grants, a zset scored by
 *   grant time (members: a per-bucket sequence number), at most its limit;
 *   `P window-meta:<name>`: hash pausedUntil (absent: never paused), seq.
 */

export const COORDINATION_SCRIPTS = {
  /*
   * leaseRenew. ARGV: prefix, key, owner, token, now, expiresAt, ttlMs.
   * Compare-and-set: when owner holds the key with token and `expiresAt >
   * now`, moves its expiry to the new expiresAt and its TTL to ttlMs.
   * Returns 1, or 0 with nothing written.
   */
  leaseRenew: `
local p, key, owner, token, now, expiresAt = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local k = p .. 'lease:' .. key
local cur = redis.call('HMGET', k, 'owner', 'token', 'expiresAt')
if cur[1] ~= owner or cur[2] ~= token or tonumber(cur[3]) <= tonumber(now) then return 0 end
redis.call('HSET', k, 'expiresAt', expiresAt)
redis.call('PEXPIRE', k, ARGV[7])
redis.call('ZADD', p .. 'leases', expiresAt, key)
return 1
`,

  /*
   * leaseCurrentToken. ARGV: prefix, key, floor. Returns {latest, epoch}:
   * the lowest token a fence on key may carry (queueComplete's rule): the
   * key's latest token, or `epoch * 2^21` when it has none in this Redis.
   * Creates the epoch when missing, as leaseAcquire would.
   */
  leaseCurrentToken: `${EPOCH_LUA}
local epoch = epochOf(ARGV[1], tonumber(ARGV[3]))
return {num(latestToken(ARGV[1], ARGV[2], epoch)), num(epoch)}
`,

  /*
   * leaseSweep. ARGV: prefix, now. Deletes the leases with `expiresAt <=
   * now`. Returns them as {key, owner, token, acquiredAt, expiresAt} each,
   * unordered (the caller sorts by key); leases whose key Redis already
   * expired are dropped from the index without being returned.
   */
  leaseSweep: `
local p = ARGV[1]
local out = {}
for _, key in ipairs(redis.call('ZRANGEBYSCORE', p .. 'leases', '-inf', ARGV[2])) do
  local k = p .. 'lease:' .. key
  local h = redis.call('HMGET', k, 'owner', 'token', 'acquiredAt', 'expiresAt')
  if h[1] then out[#out + 1] = {key, h[1], h[2], h[3], h[4]} end
  redis.call('DEL', k)
  redis.call('ZREM', p .. 'leases', key)
end
return out
`,

  /*
   * leaseList. ARGV: prefix, now. Returns the leases with `expiresAt > now`
   * as {key, owner, token, acquiredAt, expiresAt} each, unordered.
   */
  leaseList: `
local p = ARGV[1]
local out = {}
for _, key in ipairs(redis.call('ZRANGEBYSCORE', p .. 'leases', '(' .. ARGV[2], '+inf')) do
  local h = redis.call('HMGET', p .. 'lease:' .. key, 'owner', 'token', 'acquiredAt', 'expiresAt')
  if h[1] then out[#out + 1] = {key, h[1], h[2], h[3], h[4]} end
end
return out
`,

  /*
   * instanceBeat. ARGV: prefix, id, record JSON, expiresAt, ttlMs. Writes
   * the record with a PX TTL of ttlMs and its expiry (insert or update).
   * Returns 1.
   */
  instanceBeat: `
local p, id = ARGV[1], ARGV[2]
redis.call('SET', p .. 'inst:' .. id, ARGV[3], 'PX', ARGV[5])
redis.call('ZADD', p .. 'instances', ARGV[4], id)
return 1
`,

  /*
   * instanceList. ARGV: prefix, now. Returns the JSON records of the
   * instances with `expiresAt > now`, unordered (the caller sorts by id).
   * Drops from the index the ids whose record Redis expired.
   */
  instanceList: `
local p, now = ARGV[1], tonumber(ARGV[2])
local out = {}
local all = redis.call('ZRANGE', p .. 'instances', 0, -1, 'WITHSCORES')
for i = 1, #all, 2 do
  local id, expiresAt = all[i], tonumber(all[i + 1])
  local record = redis.call('GET', p .. 'inst:' .. id)
  if not record then
    redis.call('ZREM', p .. 'instances', id)
  elseif expiresAt > now then
    out[#out + 1] = record
  end
end
return out
`,

  /*
   * instanceRemove. ARGV: prefix, id. Deletes the record. Returns 1.
   */
  instanceRemove: `
redis.call('DEL', ARGV[1] .. 'inst:' .. ARGV[2])
redis.call('ZREM', ARGV[1] .. 'instances', ARGV[2])
return 1
`,

  /*
   * bucketTake. ARGV: prefix, name, limit, windowMs, now. The arithmetic of
   * takeFromLog (src/policies/window-log.ts), line for line: the earliest
   * grant time over the newest `limit` grants and the pause's ramp; grants
   * when it is not after now. Returns {1, '0'} after logging the grant (and
   * trimming the log to the newest `limit`), or {0, waitMs} with nothing
   * written.
   */
  bucketTake: `
local p, name, limit, windowMs, now = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local zk, mk = p .. 'window:' .. name, p .. 'window-meta:' .. name
local paused = tonumber(redis.call('HGET', mk, 'pausedUntil'))
local raw = redis.call('ZRANGE', zk, -limit, -1, 'WITHSCORES')
local grants = {}
for i = 2, #raw, 2 do grants[#grants + 1] = tonumber(raw[i]) end
local m = #grants
local spacing = windowMs / limit
local best = math.huge
for k = 0, limit - 1 do
  local realAt, rampAt = -math.huge, -math.huge
  if k < m then realAt = grants[m - k] + windowMs end
  if paused ~= nil then rampAt = paused + k * spacing end
  best = math.min(best, math.max(realAt, rampAt))
  if k >= m then break end
end
if paused ~= nil then best = math.max(best, paused) end
local EPSILON = 1e-6
if best > now + EPSILON then
  return {0, string.format('%.17g', math.max(1, math.ceil(best - now - EPSILON)))}
end
local seq = redis.call('HINCRBY', mk, 'seq', 1)
redis.call('ZADD', zk, ARGV[5], tostring(seq))
redis.call('ZREMRANGEBYRANK', zk, 0, -(limit + 1))
return {1, '0'}
`,

  /*
   * bucketPause. ARGV: prefix, name, untilMs. Sets pausedUntil to the later
   * of its current value and untilMs (creating the bucket). Returns 1.
   */
  bucketPause: `
local k = ARGV[1] .. 'window-meta:' .. ARGV[2]
local current = tonumber(redis.call('HGET', k, 'pausedUntil'))
if current == nil or tonumber(ARGV[3]) > current then redis.call('HSET', k, 'pausedUntil', ARGV[3]) end
return 1
`,
} as const;
