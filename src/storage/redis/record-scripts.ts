/**
 * The Lua scripts behind the Redis store's cycles, queue, events and prune:
 * one script per atomic operation, each opening with its input/output
 * contract (the queue's `complete`, which every item runs, is in
 * ./batch-scripts.ts, sent in batches). Every script takes the key prefix as ARGV[1] and derives its keys
 * from it (standalone Redis; not cluster-safe). Numbers arrive as the decimal
 * strings JavaScript wrote and are stored as given, never re-formatted by Lua
 * (whose `tostring` keeps only 14 digits); replies carry them back as strings.
 *
 * Key layout (P = prefix), see also ./coordination-scripts.ts:
 * - `P cycle:<id>`: hash head (immutable fields, JSON), tail (finishedAt,
 *   steps, counts, outcome, JSON), loop, startedAt, tickId;
 * - `P tick:<tickId>`: the id of the tick's record (SET NX: one per tick);
 * - `P cycles` (all), `P cycles:<loop>`, `P running`, `P success:<loop>`
 *   (ok/partial): zsets of cycle ids scored by startedAt;
 * - `P results:<cycleId>`: list of `<finishedAt> <ItemResult JSON>` in write
 *   order; `P results`: zset of cycle ids scored by their oldest finishedAt;
 * - `P q:seq`: counter of queue ids (never reused); `P q:item:<id>`: hash
 *   loop, cycleId, key, priority, payload (JSON), idem, enqueuedAt, claimed
 *   (1/0), owner, until, member; `P q:loop:<loop>`: zset scored by priority,
 *   members `<enqueuedAt %016d>:<id %016d>` (oldest first on ties);
 *   `P q:loops`: set of loops with items; `P q:idem`: hash idempotency key -> id;
 *   `P q:due:<loop>`: zset of the loop's item ids scored by when they become
 *   claimable (a claimed item's `until`, 0 for a pending one), so
 *   `claimStale` reads only the rows it may take, not the whole queue;
 * - `P ev:seq`: counter of event seqs; `P ev:log` (every event) and
 *   `P ev:loop:<loop>` (the loop's events): zsets of chunks, each chunk one
 *   member of up to 1000 lines `<seq> <event JSON without seq>` (ascending
 *   seq, joined by newlines, which JSON text never contains) scored by its
 *   first seq; `P ev:at`: zset of the first seqs of `P ev:log`'s chunks,
 *   scored by the chunk's earliest `at` (for prune). One append writes a
 *   chunk or a few, not three sorted-set entries per event: the event log
 *   was a third of redis-server's time per item before (bench/redis-throughput.ts).
 */

/** Lines per event chunk: one append of more events writes several chunks. */
const EVENT_CHUNK = 1000;

/** The Lua that reads an event chunk's lines: `lines(chunk)` iterates `seq, line`. */
const EVENT_LINES = `
local function lines(chunk)
  local it = string.gmatch(chunk, '[^\\n]+')
  return function()
    local line = it()
    if line then return tonumber(string.match(line, '^(%d+) ')), line end
  end
end
`;

/** The Lua that returns a queue item's hash as a flat array (`HGETALL`). */
const ROW = `
local function row(p, id)
  local r = redis.call('HGETALL', p .. 'q:item:' .. id)
  r[#r + 1] = 'id'
  r[#r + 1] = id
  return r
end
`;

export const RECORD_SCRIPTS = {
  /*
   * cycleStart. ARGV: prefix, id, tickId, loop, startedAt, head, tail,
   * running (1/0), success (1/0). Returns 1 when written, 0 (nothing
   * written) when the id or the tick already has a record.
   */
  cycleStart: `
local p, id, tick, loop, startedAt = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local key = p .. 'cycle:' .. id
if redis.call('EXISTS', key) == 1 then return 0 end
if not redis.call('SET', p .. 'tick:' .. tick, id, 'NX') then return 0 end
redis.call('HSET', key, 'head', ARGV[6], 'tail', ARGV[7], 'loop', loop, 'startedAt', startedAt, 'tickId', tick)
redis.call('ZADD', p .. 'cycles', startedAt, id)
redis.call('ZADD', p .. 'cycles:' .. loop, startedAt, id)
if ARGV[8] == '1' then redis.call('ZADD', p .. 'running', startedAt, id) end
if ARGV[9] == '1' then redis.call('ZADD', p .. 'success:' .. loop, startedAt, id) end
return 1
`,

  /*
   * cycleFinish. ARGV: prefix, id, tail, running (1/0), success (1/0).
   * Overwrites the record's tail and its running/success membership. Returns
   * 1, or 0 (nothing written) when no record has the id.
   */
  cycleFinish: `
local p, id = ARGV[1], ARGV[2]
local key = p .. 'cycle:' .. id
local h = redis.call('HMGET', key, 'loop', 'startedAt')
if not h[1] then return 0 end
redis.call('HSET', key, 'tail', ARGV[3])
if ARGV[4] == '1' then redis.call('ZADD', p .. 'running', h[2], id) else redis.call('ZREM', p .. 'running', id) end
local success = p .. 'success:' .. h[1]
if ARGV[5] == '1' then redis.call('ZADD', success, h[2], id) else redis.call('ZREM', success, id) end
return 1
`,

  /*
   * cycleRecords. ARGV: prefix, index (a zset name under the prefix),
   * direction (rev: newest first, fwd: oldest first), limit (-1: all).
   * Returns [head, tail, head, tail, ...] in that order.
   */
  cycleRecords: `
local p, index, dir, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
if limit == 0 then return {} end
local stop = limit < 0 and -1 or limit - 1
local ids = redis.call(dir == 'rev' and 'ZREVRANGE' or 'ZRANGE', p .. index, 0, stop)
local out = {}
for _, id in ipairs(ids) do
  local h = redis.call('HMGET', p .. 'cycle:' .. id, 'head', 'tail')
  if h[1] then
    out[#out + 1] = h[1]
    out[#out + 1] = h[2]
  end
end
return out
`,

  /*
   * cycleSummary. ARGV: prefix, loop. Returns [lastHead, lastTail,
   * successHead, successTail], '' where there is no such record: the loop's
   * newest record and its newest ok/partial one.
   */
  cycleSummary: `
local p, loop = ARGV[1], ARGV[2]
local out = {'', '', '', ''}
local function fill(index, at)
  local ids = redis.call('ZREVRANGE', p .. index, 0, 0)
  if ids[1] then
    local h = redis.call('HMGET', p .. 'cycle:' .. ids[1], 'head', 'tail')
    out[at], out[at + 1] = h[1] or '', h[2] or ''
  end
end
fill('cycles:' .. loop, 1)
fill('success:' .. loop, 3)
return out
`,

  /*
   * queueEnqueue. ARGV: prefix, loop, cycleId, now, claimed (1/0), owner,
   * until, items: a JSON array of [key, priority (string), payload JSON,
   * idempotency key] per item.
   * Returns one entry per item: its new id, or '' when its idempotency key
   * is already queued (skipped).
   */
  queueEnqueue: `
local p, loop, cycle, now, claimed, owner, till = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local out = {}
-- Ids are the counter's next values, one per added item; the counter is read and moved once per call.
local base = tonumber(redis.call('GET', p .. 'q:seq')) or 0
local added = 0
for _, it in ipairs(cjson.decode(ARGV[8])) do
  local key, priority, payload, idem = it[1], it[2], it[3], it[4]
  local id = base + added + 1
  -- HSETNX both checks that the idempotency key is not queued and records it.
  if redis.call('HSETNX', p .. 'q:idem', idem, id) == 0 then
    out[#out + 1] = ''
  else
    local member = string.format('%016d:%016d', tonumber(now), id)
    redis.call('HSET', p .. 'q:item:' .. id, 'loop', loop, 'cycleId', cycle, 'key', key, 'priority', priority,
      'payload', payload, 'idem', idem, 'enqueuedAt', now, 'claimed', claimed, 'owner', owner, 'until', till,
      'member', member)
    redis.call('ZADD', p .. 'q:loop:' .. loop, priority, member)
    redis.call('ZADD', p .. 'q:due:' .. loop, claimed == '1' and till or 0, id)
    out[#out + 1] = tostring(id)
    added = added + 1
  end
end
-- Once per call, not per item.
if added > 0 then
  redis.call('INCRBY', p .. 'q:seq', added)
  redis.call('SADD', p .. 'q:loops', loop)
end
return out
`,

  /*
   * queueClaimStale. ARGV: prefix, loop, cycleId, owner, until, now, limit.
   * Claims up to limit of the loop's items that are pending or whose claim
   * has `until <= now`, in queue order, re-assigning them to cycleId.
   * Returns the claimed rows (flat hashes with their id).
   */
  queueClaimStale: `${ROW}
local p, loop, cycle, owner, till, now, limit = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local out = {}
if limit <= 0 then return out end
local due = p .. 'q:due:' .. loop
if redis.call('EXISTS', due) == 0 then
  -- A queue written before the index existed: index it once.
  for _, member in ipairs(redis.call('ZRANGE', p .. 'q:loop:' .. loop, 0, -1)) do
    local id = tostring(tonumber(string.match(member, '(%d+)$')))
    local h = redis.call('HMGET', p .. 'q:item:' .. id, 'claimed', 'until')
    redis.call('ZADD', due, h[1] == '1' and h[2] or 0, id)
  end
end
-- The claimable rows, in queue order (priority, then the enqueuedAt:id member).
local candidates = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', due, '-inf', now)) do
  local h = redis.call('HMGET', p .. 'q:item:' .. id, 'priority', 'member', 'claimed', 'until')
  if not h[2] then
    redis.call('ZREM', due, id)
  elseif h[3] == '0' or tonumber(h[4]) <= now then
    candidates[#candidates + 1] = {tonumber(h[1]), h[2], id}
  end
end
table.sort(candidates, function(a, b)
  if a[1] ~= b[1] then return a[1] < b[1] end
  return a[2] < b[2]
end)
for i = 1, math.min(limit, #candidates) do
  local id = candidates[i][3]
  redis.call('HSET', p .. 'q:item:' .. id, 'cycleId', cycle, 'claimed', '1', 'owner', owner, 'until', till)
  redis.call('ZADD', due, till, id)
  out[#out + 1] = row(p, id)
end
return out
`,

  /*
   * queueExtend. ARGV: prefix, owner, until, ids... Sets `until` on the
   * items `owner` has claimed. Returns those ids, in the order given, once each.
   */
  queueExtend: `
local p, owner, till = ARGV[1], ARGV[2], ARGV[3]
local out, seen = {}, {}
for i = 4, #ARGV do
  local id = ARGV[i]
  if not seen[id] then
    seen[id] = true
    local key = p .. 'q:item:' .. id
    local h = redis.call('HMGET', key, 'claimed', 'owner', 'loop')
    if h[1] == '1' and h[2] == owner then
      redis.call('HSET', key, 'until', till)
      redis.call('ZADD', p .. 'q:due:' .. h[3], till, id)
      out[#out + 1] = id
    end
  end
end
return out
`,

  /*
   * queueRelease. ARGV: prefix, owner, ids... Moves the items `owner` has
   * claimed back to pending. Returns how many moved.
   */
  queueRelease: `
local p, owner = ARGV[1], ARGV[2]
local moved = 0
for i = 3, #ARGV do
  local key = p .. 'q:item:' .. ARGV[i]
  local h = redis.call('HMGET', key, 'claimed', 'owner', 'loop')
  if h[1] == '1' and h[2] == owner then
    redis.call('HSET', key, 'claimed', '0', 'owner', '', 'until', '')
    redis.call('ZADD', p .. 'q:due:' .. h[3], 0, ARGV[i])
    moved = moved + 1
  end
end
return moved
`,

  /*
   * queueRows. ARGV: prefix, all (1/0), loop. Returns every queued row of
   * the loop (of every loop when all is 1) as flat hashes with their id,
   * unordered across loops (the caller sorts).
   */
  queueRows: `${ROW}
local p = ARGV[1]
local loops = ARGV[2] == '1' and redis.call('SMEMBERS', p .. 'q:loops') or {ARGV[3]}
local out = {}
for _, loop in ipairs(loops) do
  for _, member in ipairs(redis.call('ZRANGE', p .. 'q:loop:' .. loop, 0, -1)) do
    out[#out + 1] = row(p, tostring(tonumber(string.match(member, '(%d+)$'))))
  end
end
return out
`,

  /*
   * eventsAppend. ARGV: prefix, then per event: at, L|N (has a loop or
   * not), loop, event JSON without seq. Gives each event the next seq, in
   * order, and writes them as chunks of at most ${EVENT_CHUNK} lines: to
   * `ev:log` (with its earliest `at` in `ev:at`) and, per loop, to
   * `ev:loop:<loop>`. Returns the number appended.
   */
  eventsAppend: `
local p = ARGV[1]
local n = (#ARGV - 1) / 4
if n == 0 then return 0 end
local last = redis.call('INCRBY', p .. 'ev:seq', n)
local seq = last - n
local log, logFirst, logAt = {}, nil, nil
local loops = {}
local function flushLog()
  if #log == 0 then return end
  redis.call('ZADD', p .. 'ev:log', logFirst, table.concat(log, '\\n'))
  redis.call('ZADD', p .. 'ev:at', string.format('%.17g', logAt), logFirst)
  log, logFirst, logAt = {}, nil, nil
end
local function flushLoop(loop, chunk)
  if #chunk.lines == 0 then return end
  redis.call('ZADD', p .. 'ev:loop:' .. loop, chunk.first, table.concat(chunk.lines, '\\n'))
  chunk.lines, chunk.first = {}, nil
end
for i = 2, #ARGV, 4 do
  seq = seq + 1
  local at, line = tonumber(ARGV[i]), seq .. ' ' .. ARGV[i + 3]
  logFirst = logFirst or seq
  if logAt == nil or at < logAt then logAt = at end
  log[#log + 1] = line
  if #log == ${EVENT_CHUNK} then flushLog() end
  if ARGV[i + 1] == 'L' then
    local loop = ARGV[i + 2]
    local chunk = loops[loop]
    if not chunk then chunk = {lines = {}}; loops[loop] = chunk end
    chunk.first = chunk.first or seq
    chunk.lines[#chunk.lines + 1] = line
    if #chunk.lines == ${EVENT_CHUNK} then flushLoop(loop, chunk) end
  end
end
flushLog()
for loop, chunk in pairs(loops) do flushLoop(loop, chunk) end
return n
`,

  /*
   * eventsAfter. ARGV: prefix, index (ev:log or ev:loop:<loop>), afterSeq,
   * limit. Returns the lines of the events with seq > afterSeq, oldest
   * first, at most limit.
   */
  eventsAfter: `${EVENT_LINES}
local idx, after, limit = ARGV[1] .. ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {}
if limit <= 0 then return out end
-- The chunk that starts at or before afterSeq may hold later events; then the chunks after it.
local chunks = redis.call('ZREVRANGEBYSCORE', idx, ARGV[3], '-inf', 'LIMIT', 0, 1)
local offset = 0
while true do
  for _, chunk in ipairs(chunks) do
    for seq, line in lines(chunk) do
      if seq > after then
        out[#out + 1] = line
        if #out >= limit then return out end
      end
    end
  end
  chunks = redis.call('ZRANGEBYSCORE', idx, '(' .. ARGV[3], '+inf', 'LIMIT', offset, 16)
  if #chunks == 0 then return out end
  offset = offset + #chunks
end
`,

  /*
   * eventsLatest. ARGV: prefix, index (ev:log or ev:loop:<loop>), limit.
   * Returns the lines of the newest limit events, oldest first.
   */
  eventsLatest: `${EVENT_LINES}
local idx, limit = ARGV[1] .. ARGV[2], tonumber(ARGV[3])
local picked, count, i = {}, 0, 0
while count < limit do
  local chunk = redis.call('ZREVRANGE', idx, i, i)[1]
  if not chunk then break end
  local ls = {}
  for _, line in lines(chunk) do ls[#ls + 1] = line end
  picked[#picked + 1] = ls
  count = count + #ls
  i = i + 1
end
local out, skip = {}, math.max(0, count - limit)
for c = #picked, 1, -1 do
  for _, line in ipairs(picked[c]) do
    if skip > 0 then skip = skip - 1 else out[#out + 1] = line end
  end
end
return out
`,

  /*
   * prune. ARGV: prefix, before. Deletes cycle records started before
   * `before` (with their ticks, index entries and results), item results
   * that finished before it, and events whose `at` is before it. Returns
   * {cycles deleted, events deleted}.
   */
  prune: `${EVENT_LINES}
local p, before = ARGV[1], tonumber(ARGV[2])
local bound = '(' .. ARGV[2]
local cycles = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. 'cycles', '-inf', bound)) do
  local key = p .. 'cycle:' .. id
  local h = redis.call('HMGET', key, 'loop', 'tickId')
  if h[1] then
    redis.call('DEL', key, p .. 'tick:' .. h[2])
    redis.call('ZREM', p .. 'cycles:' .. h[1], id)
    redis.call('ZREM', p .. 'success:' .. h[1], id)
  end
  redis.call('ZREM', p .. 'cycles', id)
  redis.call('ZREM', p .. 'running', id)
  redis.call('DEL', p .. 'results:' .. id)
  redis.call('ZREM', p .. 'results', id)
  cycles = cycles + 1
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. 'results', '-inf', bound)) do
  local key = p .. 'results:' .. id
  local kept, oldest = {}, nil
  for _, entry in ipairs(redis.call('LRANGE', key, 0, -1)) do
    local at = tonumber(string.match(entry, '^(%S+) '))
    if at >= before then
      kept[#kept + 1] = entry
      if oldest == nil or at < oldest then oldest = at end
    end
  end
  redis.call('DEL', key)
  if #kept == 0 then
    redis.call('ZREM', p .. 'results', id)
  else
    -- In chunks: unpack of a long list would overflow Lua's stack.
    for i = 1, #kept, 1000 do redis.call('RPUSH', key, unpack(kept, i, math.min(i + 999, #kept))) end
    redis.call('ZADD', p .. 'results', string.format('%.17g', oldest), id)
  end
end
-- Events: each chunk of ev:log whose earliest event is before the cutoff is rewritten without the
-- events before it (or deleted), and those events are taken out of their loops' chunks too.
local events = 0
local gone = {} -- loop -> list of seqs deleted
local function rewrite(index, chunk, keep)
  redis.call('ZREM', index, chunk)
  if #keep == 0 then return nil end
  local first = string.match(keep[1], '^(%d+) ')
  redis.call('ZADD', index, first, table.concat(keep, '\\n'))
  return first
end
for _, entry in ipairs(redis.call('ZRANGEBYSCORE', p .. 'ev:at', '-inf', bound)) do
  local first = string.match(entry, '^(%d+)')
  redis.call('ZREM', p .. 'ev:at', entry)
  for _, chunk in ipairs(redis.call('ZRANGEBYSCORE', p .. 'ev:log', first, first)) do
    local keep, keptAt = {}, nil
    for seq, line in lines(chunk) do
      local e = cjson.decode(string.match(line, '^%d+ (.*)$'))
      if e.at >= before then
        keep[#keep + 1] = line
        if keptAt == nil or e.at < keptAt then keptAt = e.at end
      else
        events = events + 1
        if type(e.loop) == 'string' then
          gone[e.loop] = gone[e.loop] or {}
          table.insert(gone[e.loop], seq)
        end
      end
    end
    local kept = rewrite(p .. 'ev:log', chunk, keep)
    if kept then redis.call('ZADD', p .. 'ev:at', string.format('%.17g', keptAt), kept) end
  end
end
for loop, seqs in pairs(gone) do
  local index, drop = p .. 'ev:loop:' .. loop, {}
  for _, seq in ipairs(seqs) do drop[seq] = true end
  local done = {}
  for _, seq in ipairs(seqs) do
    local chunk = redis.call('ZREVRANGEBYSCORE', index, seq, '-inf', 'LIMIT', 0, 1)[1]
    if chunk and not done[chunk] then
      done[chunk] = true
      local keep = {}
      for s, line in lines(chunk) do
        if not drop[s] then keep[#keep + 1] = line end
      end
      rewrite(index, chunk, keep)
    end
  end
end
return {cycles, events}
`,
} as const;
