import { checkWindow } from '../../policies/window-log.ts';
import type { InstanceRecord, InstanceRegistry, Lease, LeaseStore, RateLimitStore } from '../store.ts';
import type { EpochFloor } from './fencing-epoch.ts';
import type { RunRedis } from './redis-store.ts';

/**
 * Leases on Redis, for `RedisStore`: one Lua script per operation
 * (./coordination-scripts.ts). Expiry compares the stored `expiresAt` with
 * the caller's `now`; the lease key also carries a Redis TTL of `ttlMs`
 * (set on acquire, moved on renew), so a dead holder's key vanishes on its
 * own. Tokens are `epoch * 2^21 + counter` (./fencing-epoch.ts): they grow
 * per key across releases, expiries, takeovers and Redis restarts.
 * `currentToken` answers with the same rule fences are checked by: the key's
 * latest token, or `epoch * 2^21` when it has none in this Redis (every
 * token from before is stale).
 *
 * @example
 * const lease = await store.leases.acquire('BTC/USD', 'host:1:abc', 10_000, now);
 */
export function redisLeaseStore(run: RunRedis, floor: EpochFloor): LeaseStore {
  return {
    acquire: async (key, owner, ttlMs, now) => {
      const expiresAt = now + ttlMs;
      const args = [key, owner, now, expiresAt, pxOf(ttlMs), floor.value];
      const reply = (await run('leases.acquire', (io) => io.batched('leaseAcquire', ...args))) as
        | [string, string, string, string]
        | null;
      if (!reply) return undefined;
      floor.see(reply[3]);
      const lease: Lease = { key, owner, token: Number(reply[0]), acquiredAt: now, expiresAt };
      return reply[1] === '1' ? { ...lease, tookOverFrom: reply[2] } : lease;
    },
    renew: async (key, owner, token, ttlMs, now) => {
      const expiresAt = now + ttlMs;
      const args = [key, owner, token, now, expiresAt, pxOf(ttlMs)];
      return (await run('leases.renew', (io) => io.script('leaseRenew', ...args))) === 1 ? expiresAt : undefined;
    },
    release: async (key, owner, token) =>
      (await run('leases.release', (io) => io.batched('leaseRelease', key, owner, token))) === 1,
    sweep: async (now) => byKey(await run('leases.sweep', (io) => io.script('leaseSweep', now))),
    list: async (now, options) => {
      const prefix = options?.prefix ?? '';
      const live = byKey(await run('leases.list', (io) => io.script('leaseList', now)));
      return live.filter((lease) => lease.key.startsWith(prefix));
    },
    currentToken: async (key) => {
      const reply = (await run('leases.currentToken', (io) => io.script('leaseCurrentToken', key, floor.value))) as [
        string,
        string,
      ];
      floor.see(reply[1]);
      return Number(reply[0]);
    },
  };
}

/** A TTL for Redis's PX: whole milliseconds, at least 1 (Redis refuses 0). */
function pxOf(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs));
}

/** Script rows `{key, owner, token, acquiredAt, expiresAt}` as leases, ordered by key (code units). */
function byKey(reply: unknown): Lease[] {
  return (reply as string[][])
    .map(([key = '', owner = '', token, acquiredAt, expiresAt]) => ({
      key,
      owner,
      token: Number(token),
      acquiredAt: Number(acquiredAt),
      expiresAt: Number(expiresAt),
    }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Instance heartbeats on Redis, for `RedisStore`: a JSON record per
 * instance with a Redis TTL of the heartbeat's `ttlMs` (a dead instance's
 * record vanishes on its own), and a zset of expiries, so `list` reads only
 * the live ones.
 *
 * @example
 * await store.instances.beat({ id, host, pid, startedAt, loops: ['signals'] }, 30_000, now);
 */
export function redisInstanceRegistry(run: RunRedis): InstanceRegistry {
  return {
    beat: async (instance, ttlMs, now) => {
      const { id, host, pid, startedAt, loops } = instance;
      const record: InstanceRecord = { id, host, pid, startedAt, lastBeatAt: now, expiresAt: now + ttlMs, loops };
      const args = [id, JSON.stringify(record), record.expiresAt, pxOf(ttlMs)];
      await run('instances.beat', (io) => io.script('instanceBeat', ...args));
    },
    list: async (now) => {
      const reply = (await run('instances.list', (io) => io.script('instanceList', now))) as string[];
      return reply
        .map((json) => JSON.parse(json) as InstanceRecord)
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },
    remove: async (id) => {
      await run('instances.remove', (io) => io.script('instanceRemove', id));
    },
  };
}

/**
 * Rate-limit buckets on Redis, for `RedisStore`, shared by every instance:
 * the sliding-window log of `takeFromLog` (src/policies/window-log.ts)
 * ported to one Lua script, so a take is atomic across processes.
 *
 * @example
 * const { granted, waitMs } = await store.buckets.take('llm_service', 100, 61_000, now);
 */
export function redisRateLimitStore(run: RunRedis): RateLimitStore {
  return {
    take: async (name, limit, windowMs, now) => {
      checkWindow(name, limit, windowMs);
      const reply = (await run('buckets.take', (io) => io.script('bucketTake', name, limit, windowMs, now))) as [
        number,
        string,
      ];
      return { granted: reply[0] === 1, waitMs: Number(reply[1]) };
    },
    pause: async (name, untilMs) => {
      await run('buckets.pause', (io) => io.script('bucketPause', name, untilMs));
    },
  };
}
