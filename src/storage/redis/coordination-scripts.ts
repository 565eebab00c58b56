/**
 * The Lua scripts behind the Redis store's leases, instances and rate-limit
 * buckets: one script per atomic operation, each opening with its
 * input/output contract, with the key prefix as ARGV[1] (see
 * ./record-scripts.ts for the conventions).
 *
 * Time is the caller's `now` (the store's clock port), never Redis's clock:
 * expiry is decided by comparing stored `expiresAt` with the `now` passed in,
 * so no key relies on a Redis TTL for correctness.
 *
 * Key layout (P = prefix):
 * - `P lease:<key>`: hash owner, token, acquiredAt, expiresAt (a record with
 *   `expiresAt <= now` is expired: free for a takeover until swept);
 * - `P lease-token:<key>`: the key's latest token (INCR; kept across
 *   release, expiry and sweep, so tokens only grow);
 * - `P leases`: zset of lease keys scored by expiresAt;
 * - `P inst:<id>`: the instance record (JSON); `P instances`: zset of ids
 *   scored by expiresAt;
 * - `P bucket:<name>`: hash tokens, updatedAt, pausedUntil (absent: null).
 */

export const COORDINATION_SCRIPTS = {
  /*
   * leaseAcquire. ARGV: prefix, key, owner, now, expiresAt. When the key has
   * no record or its record has `expiresAt <= now`, takes the next token and
   * writes the lease. Returns {token, 1|0 (took over a record), previous
   * owner}, or nil (nothing written) while an unexpired lease exists.
   */
  leaseAcquire: `
local p, key, owner, now, expiresAt = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local k = p .. 'lease:' .. key
local cur = redis.call('HMGET', k, 'owner', 'expiresAt')
if cur[1] and tonumber(cur[2]) > tonumber(now) then return false end
local token = redis.call('INCR', p .. 'lease-token:' .. key)
redis.call('HSET', k, 'owner', owner, 'token', token, 'acquiredAt', now, 'expiresAt', expiresAt)
redis.call('ZADD', p .. 'leases', expiresAt, key)
return {tostring(token), cur[1] and '1' or '0', cur[1] or ''}
`,

  /*
   * leaseRenew. ARGV: prefix, key, owner, token, now, expiresAt. When owner
   * holds the key with token and `expiresAt > now`, moves its expiry to the
   * new expiresAt. Returns 1, or 0 with nothing written.
   */
  leaseRenew: `
local p, key, owner, token, now, expiresAt = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local k = p .. 'lease:' .. key
local cur = redis.call('HMGET', k, 'owner', 'token', 'expiresAt')
if cur[1] ~= owner or cur[2] ~= token or tonumber(cur[3]) <= tonumber(now) then return 0 end
redis.call('HSET', k, 'expiresAt', expiresAt)
redis.call('ZADD', p .. 'leases', expiresAt, key)
return 1
`,

  /*
   * leaseRelease. ARGV: prefix, key, owner, token. Deletes the lease when
   * owner holds it with token (expired or not); the token counter stays.
   * Returns 1, or 0 with nothing written.
   */
  leaseRelease: `
local p, key, owner, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local k = p .. 'lease:' .. key
local cur = redis.call('HMGET', k, 'owner', 'token')
if cur[1] ~= owner or cur[2] ~= token then return 0 end
redis.call('DEL', k)
redis.call('ZREM', p .. 'leases', key)
return 1
`,

  /*
   * leaseSweep. ARGV: prefix, now. Deletes the leases with `expiresAt <=
   * now`. Returns them as {key, owner, token, acquiredAt, expiresAt} each,
   * unordered (the caller sorts by key).
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
   * instanceBeat. ARGV: prefix, id, record JSON, expiresAt. Writes the
   * record and its expiry (insert or update). Returns 1.
   */
  instanceBeat: `
local p, id = ARGV[1], ARGV[2]
redis.call('SET', p .. 'inst:' .. id, ARGV[3])
redis.call('ZADD', p .. 'instances', ARGV[4], id)
return 1
`,

  /*
   * instanceList. ARGV: prefix, now. Returns the JSON records of the
   * instances with `expiresAt > now`, unordered (the caller sorts by id).
   */
  instanceList: `
local p = ARGV[1]
local ids = redis.call('ZRANGEBYSCORE', p .. 'instances', '(' .. ARGV[2], '+inf')
local out = {}
for _, id in ipairs(ids) do
  local record = redis.call('GET', p .. 'inst:' .. id)
  if record then out[#out + 1] = record end
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
   * bucketTake. ARGV: prefix, name, capacity, perMs, now. The arithmetic of
   * takeToken (../memory/token-bucket.ts), line for line: refills to now,
   * takes one token unless empty or paused. Returns {1, '0'} after storing
   * the new state, or {0, waitMs} with nothing written. State numbers are
   * stored with 17 significant digits, so they round-trip as doubles.
   */
  bucketTake: `
local p, capacity, perMs, now = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local k = p .. 'bucket:' .. ARGV[2]
local h = redis.call('HMGET', k, 'tokens', 'updatedAt', 'pausedUntil')
local stored, updated, paused = tonumber(h[1]), tonumber(h[2]), tonumber(h[3])
local EPSILON = 1e-9
local rate = capacity / perMs
local base, from
if paused ~= nil and (updated == nil or paused > updated) then
  base, from = 0, paused
elseif stored == nil or updated == nil then
  base, from = capacity, now
else
  base, from = stored, updated
end
local tokens = math.min(capacity, base + math.max(0, now - from) * rate)
local updatedAt = math.max(from, now)
local pauseWait = math.max(0, (paused or now) - now)
local tokenWait = 0
if tokens < 1 - EPSILON then tokenWait = math.ceil(updatedAt - now + (1 - tokens) / rate) end
if pauseWait == 0 and tokenWait == 0 then
  redis.call('HSET', k, 'tokens', string.format('%.17g', math.max(0, tokens - 1)),
    'updatedAt', string.format('%.17g', updatedAt))
  return {1, '0'}
end
return {0, string.format('%.17g', math.max(pauseWait, tokenWait))}
`,

  /*
   * bucketPause. ARGV: prefix, name, untilMs. Sets pausedUntil to the later
   * of its current value and untilMs (creating the bucket). Returns 1.
   */
  bucketPause: `
local k = ARGV[1] .. 'bucket:' .. ARGV[2]
local current = tonumber(redis.call('HGET', k, 'pausedUntil'))
if current == nil or tonumber(ARGV[3]) > current then redis.call('HSET', k, 'pausedUntil', ARGV[3]) end
return 1
`,
} as const;
