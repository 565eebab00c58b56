import { EPOCH_LUA } from './fencing-epoch.ts';

/**
 * The operations every item runs, which the Redis store sends in batches
 * (./redis-store.ts): take a lease, complete a queued item (and free its
 * lease), release a lease. Each is a Lua function of `A`, laid out as a
 * script's ARGV would be (A[1] the key prefix, see ./record-scripts.ts for
 * the conventions and the key layout), and opens with its contract.
 *
 * `opsBatch` is the one script that runs them: a list of operations, in the
 * order given, each atomic (the whole batch is: Redis runs one script at a
 * time) and each answered on its own, so a failing operation does not fail
 * the others. What a batch saves is the per-command cost on both sides, not
 * any of an operation's checks.
 */
const OPERATIONS = `${EPOCH_LUA}
--[[
  leaseRelease. A: prefix, key, owner, token. Compare-and-delete: deletes the
  lease when owner holds it with token (expired or not); the token counter
  stays. Returns 1, or 0 with nothing written.
]]
local function leaseRelease(A)
  local p, key, owner, token = A[1], A[2], A[3], A[4]
  local k = p .. 'lease:' .. key
  local cur = redis.call('HMGET', k, 'owner', 'token')
  if cur[1] ~= owner or cur[2] ~= token then return 0 end
  redis.call('DEL', k)
  redis.call('ZREM', p .. 'leases', key)
  return 1
end

--[[
  leaseAcquire. A: prefix, key, owner, now, expiresAt, ttlMs, floor. When the
  key has no record or its record has expiresAt <= now, gives out the key's
  next token (./fencing-epoch.ts; floor: the caller's epoch floor) and writes
  the lease with a PX TTL of ttlMs. Returns {token, 1|0 (took over a record),
  previous owner, epoch}, or false (nothing written) while an unexpired lease
  exists.
]]
local function leaseAcquire(A)
  local p, key, owner, now, expiresAt = A[1], A[2], A[3], A[4], A[5]
  local k = p .. 'lease:' .. key
  local cur = redis.call('HMGET', k, 'owner', 'expiresAt')
  if cur[1] and tonumber(cur[2]) > tonumber(now) then return false end
  local token, epoch = nextToken(p, key, tonumber(A[7]))
  redis.call('HSET', k, 'owner', owner, 'token', token, 'acquiredAt', now, 'expiresAt', expiresAt)
  redis.call('PEXPIRE', k, A[6])
  redis.call('ZADD', p .. 'leases', expiresAt, key)
  return {token, cur[1] and '1' or '0', cur[1] or '', epoch}
end

--[[
  queueComplete. A: prefix, id, owner, fenced (1/0), fence key, fence token,
  floor, result cycleId, finishedAt, result entry, release (1/0). With release
  (and fenced), first frees the fence key's lease as leaseRelease(owner, fence
  token) would. When owner holds the item's claim and (if fenced) the token is
  not lower than the key's latest token, or, when the key has none in this
  Redis, not from an epoch before the current one (./fencing-epoch.ts: a late
  writer from before a Redis restart), deletes the item and appends the entry
  to the cycle's results. Returns {1|0, epoch ('' when not fenced)}; on 0 the
  item and the results are untouched.

  A release that found the lease held with the fence token needs no read of
  the key's latest token: only leaseAcquire gives out tokens, and it writes
  the lease record with each one, so a record that still holds the token
  means none was given after it.
]]
local function queueComplete(A)
  local p, id, owner = A[1], A[2], A[3]
  local current = A[4] == '1' and A[11] == '1' and leaseRelease({p, A[5], owner, A[6]}) == 1
  local key = p .. 'q:item:' .. id
  local h = redis.call('HMGET', key, 'claimed', 'owner', 'loop', 'idem', 'member')
  if h[1] ~= '1' or h[2] ~= owner then return {0, ''} end
  local epoch = ''
  if A[4] == '1' then
    local e = epochOf(p, tonumber(A[7]))
    epoch = num(e)
    if not current and tonumber(A[6]) < latestToken(p, A[5], e) then return {0, epoch} end
  end
  redis.call('DEL', key)
  redis.call('ZREM', p .. 'q:loop:' .. h[3], h[5])
  redis.call('ZREM', p .. 'q:due:' .. h[3], id)
  if redis.call('ZCARD', p .. 'q:loop:' .. h[3]) == 0 then redis.call('SREM', p .. 'q:loops', h[3]) end
  redis.call('HDEL', p .. 'q:idem', h[4])
  redis.call('RPUSH', p .. 'results:' .. A[8], A[10])
  redis.call('ZADD', p .. 'results', 'LT', A[9], A[8])
  return {1, epoch}
end
`;

/** The operations `opsBatch` runs, by name. */
export type BatchedOp = 'leaseAcquire' | 'leaseRelease' | 'queueComplete';

export const BATCH_SCRIPTS = {
  /*
   * opsBatch. ARGV: prefix, then per operation its name (a BatchedOp), the
   * count n of its arguments and the n arguments (A without the prefix).
   * Flat ARGV rather than one JSON argument: Redis hands the script ready
   * strings, with no cjson.decode of the whole batch and no second escaping
   * of the result entry (JSON inside JSON) on either side. Runs them in
   * order, each under pcall. Returns JSON: one [1, reply] or [0, error
   * message] per operation, in order (a false reply is JSON false).
   */
  opsBatch: `${OPERATIONS}
local ops = {leaseAcquire = leaseAcquire, leaseRelease = leaseRelease, queueComplete = queueComplete}
local out = {}
local at = 2
while at <= #ARGV do
  local name, count = ARGV[at], tonumber(ARGV[at + 1])
  local A = {ARGV[1]}
  for j = 1, count do A[j + 1] = ARGV[at + 1 + j] end
  at = at + 2 + count
  local op, ok, reply = ops[name]
  if op then ok, reply = pcall(op, A) else ok, reply = false, 'no such operation: ' .. tostring(name) end
  if ok then
    out[#out + 1] = {1, reply}
  else
    out[#out + 1] = {0, type(reply) == 'table' and (reply.err or 'error') or tostring(reply)}
  end
end
return cjson.encode(out)
`,
};
