/**
 * The Lua scripts behind recipes' documents and journals on Redis: one
 * script per atomic operation, each opening with its input/output contract,
 * with the key prefix as ARGV[1] (see ./record-scripts.ts for the
 * conventions: numbers travel and are stored as the decimal strings
 * JavaScript wrote). `Store.prune` touches none of these keys.
 *
 * Key layout (P = prefix):
 * - `P doc:<namespace>`: hash, document key -> `<version> <updatedAt> <value
 *   JSON>` (one field per document: a get is one HGET);
 * - `P doc-keys:<namespace>`: zset of the namespace's document keys, all
 *   scored 0, so ZRANGEBYLEX lists them in byte order, by prefix;
 * - `P doc-versions`: hash, namespace -> the last version it gave out. A
 *   put takes the next one, so a key's version grows across delete and
 *   re-create with nothing kept per deleted key;
 * - `P jr:<journal>`: zset of the journal's entries scored by seq, members
 *   `<seq> <at> <value JSON>`;
 * - `P jr-seqs`: hash, journal -> its last seq, kept when its entries are
 *   trimmed, so seqs are never reused.
 *
 * Values are JSON text, which never holds a raw newline: a batch of journal
 * entries travels as one argument, one entry per line (a script call with
 * an argument per entry overflows past some ten thousand).
 */

/** The Lua that formats a number for storage without Lua's 14-digit `tostring`. */
const NUM = `local function num(x) return string.format('%.0f', x) end`;

export const STATE_SCRIPTS = {
  /*
   * docPut. ARGV: prefix, namespace, key, value JSON, now, expectVersion
   * ('' when any version will do; '0': the key must have no document).
   * Writes the document at the namespace's next version and returns it, or
   * returns '' with nothing written when expectVersion does not match.
   */
  docPut: `${NUM}
local p, ns, key, value, now, expect = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if expect ~= '' then
  local cur = redis.call('HGET', p .. 'doc:' .. ns, key)
  local version = cur and string.match(cur, '^(%d+) ') or '0'
  if version ~= expect then return '' end
end
local version = num(redis.call('HINCRBY', p .. 'doc-versions', ns, 1))
redis.call('HSET', p .. 'doc:' .. ns, key, version .. ' ' .. now .. ' ' .. value)
redis.call('ZADD', p .. 'doc-keys:' .. ns, 0, key)
return version
`,

  /*
   * docDelete. ARGV: prefix, namespace, key, expectVersion ('' when any
   * will do). Deletes the document when it exists (with that version).
   * Returns 1, or 0 with nothing deleted.
   */
  docDelete: `
local p, ns, key, expect = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local cur = redis.call('HGET', p .. 'doc:' .. ns, key)
if not cur then return 0 end
if expect ~= '' and string.match(cur, '^(%d+) ') ~= expect then return 0 end
redis.call('HDEL', p .. 'doc:' .. ns, key)
redis.call('ZREM', p .. 'doc-keys:' .. ns, key)
return 1
`,

  /*
   * docList. ARGV: prefix, namespace, min (a ZRANGEBYLEX bound: '-', or
   * '[' / '(' and a key), key prefix ('' for every key), limit (-1: all).
   * Returns [key, stored, key, stored, ...] for the keys from min that start
   * with the key prefix, in byte order, at most limit.
   */
  docList: `
local p, ns, min, prefix, limit = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
-- No UTF-8 text holds the byte 255: every key that starts with prefix sorts below prefix .. 255.
local max = prefix == '' and '+' or '[' .. prefix .. '\\255'
local keys = redis.call('ZRANGEBYLEX', p .. 'doc-keys:' .. ns, min, max, 'LIMIT', 0, limit)
local out = {}
for _, key in ipairs(keys) do
  local stored = redis.call('HGET', p .. 'doc:' .. ns, key)
  if stored then
    out[#out + 1] = key
    out[#out + 1] = stored
  end
end
return out
`,

  /*
   * jrAppend. ARGV: prefix, journal, now, entries (value JSON texts, one per
   * line, at least one). Gives them the journal's next seqs, in order.
   * Returns the first seq (the others follow it).
   */
  jrAppend: `${NUM}
local p, name, now, lines = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local values = {}
for line in string.gmatch(lines, '[^\\n]+') do values[#values + 1] = line end
local last = redis.call('HINCRBY', p .. 'jr-seqs', name, #values)
local first = last - #values + 1
for i, value in ipairs(values) do
  local seq = num(first + i - 1)
  redis.call('ZADD', p .. 'jr:' .. name, seq, seq .. ' ' .. now .. ' ' .. value)
end
return num(first)
`,

  /*
   * jrRead. ARGV: prefix, journal, after, limit. Returns the members of the
   * entries with seq > after, oldest first, at most limit.
   */
  jrRead: `
local p, name, after, limit = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
return redis.call('ZRANGEBYSCORE', p .. 'jr:' .. name, '(' .. after, '+inf', 'LIMIT', 0, limit)
`,

  /*
   * jrTrim. ARGV: prefix, journal, before ('' for no time rule), keepLast
   * ('' for no count rule). Removes the oldest entries: those before the
   * first whose at is not before `before`, and those older than the newest
   * keepLast. Returns how many went.
   */
  jrTrim: `
local p, name, before, keepLast = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local key = p .. 'jr:' .. name
local size = redis.call('ZCARD', key)
local count = 0
if keepLast then count = math.max(0, size - keepLast) end
if before then
  local old, page = 0, 100
  while old < size do
    local members = redis.call('ZRANGE', key, old, old + page - 1)
    local stop = false
    for _, member in ipairs(members) do
      if tonumber(string.match(member, '^%d+ (%S+) ')) >= before then
        stop = true
        break
      end
      old = old + 1
    end
    if stop or #members < page then break end
  end
  count = math.max(count, old)
end
if count > 0 then redis.call('ZREMRANGEBYRANK', key, 0, count - 1) end
return count
`,
};
