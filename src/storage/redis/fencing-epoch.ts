/**
 * Fencing tokens on Redis that never go backwards, even when Redis restarts
 * empty (no persistence) and its counters start again from nothing.
 *
 * A token is `epoch * 2^21 + counter`:
 * - `counter` (1 .. 2^21 - 1) counts the key's acquires within the epoch;
 *   `P lease-token:<key>` holds the key's latest whole token;
 * - `epoch` lives in `P epoch`. When that key is missing (a fresh server, or
 *   one that restarted and lost its data) the first script that needs it
 *   creates it as `max(Redis TIME seconds, floor + 1)`, where `floor` is the
 *   highest epoch the calling RedisStore has seen ({@link EpochFloor}); an
 *   existing epoch below the caller's floor is raised the same way (a
 *   restarted server that another client initialised with a clock behind);
 * - a key whose counter would pass 2^21 - 1 moves the store to the next
 *   epoch, `max(epoch + 1, TIME seconds)`; other keys keep their tokens and
 *   continue in the new epoch at their next acquire.
 *
 * Epochs are seconds since 1970 (about 2^31 today), so tokens stay below
 * 2^53 (exact as JavaScript numbers and Lua doubles) until the year 2106.
 * A restarted Redis starts a later second than the epoch before it, so its
 * tokens are higher than every token given before the restart.
 *
 * Fences (`queue.complete`): a token is refused when it is below the key's
 * latest token; when the key has no token (never leased since the restart
 * that wiped it), when it is below `epoch * 2^21`: a late writer from before
 * a restart is refused even before anyone leases its key again.
 *
 * Assumption: the restarted server's clock is past the second in which the
 * previous epoch began (not set back, and Redis did not die and come back
 * within its first second of use). Clients that saw the old epoch guard
 * against a clock behind with their floor (and raise an epoch found below
 * it); a process new to the restarted server has only the clock.
 */

/** Bits of a token below the epoch: the per-key counter. */
export const TOKEN_COUNTER_BITS = 21;
/** `2^21`: tokens of epoch `e` lie in `[e * TOKEN_SPAN + 1, (e + 1) * TOKEN_SPAN - 1]`. */
export const TOKEN_SPAN = 2 ** TOKEN_COUNTER_BITS;

/** The epoch a token was given in. */
export function epochOfToken(token: number): number {
  return Math.floor(token / TOKEN_SPAN);
}

/**
 * The highest epoch a RedisStore has seen, sent with every script that may
 * create the epoch, so a restarted server whose clock is behind cannot start
 * an epoch this client already saw pass.
 */
export class EpochFloor {
  #value = 0;

  get value(): number {
    return this.#value;
  }

  /** Raises the floor to `epoch` (a reply's epoch, as the decimal string Lua wrote). */
  see(epoch: string | number | undefined): void {
    const n = Number(epoch);
    if (Number.isSafeInteger(n) && n > this.#value) this.#value = n;
  }
}

/**
 * Lua helpers for the scripts that give out or check tokens
 * (./coordination-scripts.ts, ./record-scripts.ts). Numbers are written with
 * `%.0f`: Lua's `tostring` keeps only 14 digits, tokens have 16.
 *
 * - `epochOf(p, floor)`: the store's epoch, created or raised as above (read
 *   once per script call);
 * - `latestToken(p, key, epoch)`: the lowest token a fence on key may carry:
 *   the key's latest token, else the epoch's base;
 * - `nextToken(p, key, floor)`: gives out and stores the key's next token;
 *   returns token and epoch as strings.
 */
export const EPOCH_LUA = `
local SPAN = ${TOKEN_SPAN}
local function num(x) return string.format('%.0f', x) end
-- The epoch as this script call last read or wrote it, by prefix: nothing else runs while a script
-- does, so one GET serves every operation of a batch (./batch-scripts.ts).
local epochSeen = {}
local function setEpoch(p, epoch)
  redis.call('SET', p .. 'epoch', num(epoch))
  epochSeen[p] = epoch
end
local function epochOf(p, floor)
  local epoch = epochSeen[p] or tonumber(redis.call('GET', p .. 'epoch'))
  if epoch == nil or epoch < floor then
    epoch = math.max(tonumber(redis.call('TIME')[1]), floor + 1)
    setEpoch(p, epoch)
  end
  epochSeen[p] = epoch
  return epoch
end
local function latestToken(p, key, epoch)
  return tonumber(redis.call('GET', p .. 'lease-token:' .. key)) or epoch * SPAN
end
local function nextToken(p, key, floor)
  local epoch = epochOf(p, floor)
  local last = tonumber(redis.call('GET', p .. 'lease-token:' .. key))
  local token = epoch * SPAN + 1
  if last ~= nil and last >= token then token = last + 1 end
  if token >= (epoch + 1) * SPAN then
    epoch = math.max(epoch + 1, tonumber(redis.call('TIME')[1]), math.floor(last / SPAN) + 1)
    setEpoch(p, epoch)
    token = epoch * SPAN + 1
  end
  redis.call('SET', p .. 'lease-token:' .. key, num(token))
  return num(token), num(epoch)
end
`;
