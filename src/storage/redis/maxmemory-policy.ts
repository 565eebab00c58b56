import type { Redis } from 'ioredis';

/**
 * Checks Redis's `maxmemory-policy` when the store opens and returns the
 * warnings for `store.warnings` (none when it is `noeviction`).
 *
 * Any other policy lets Redis delete keys when it runs out of memory: an
 * evicted lease key lets a second holder in, an evicted token counter or
 * epoch lets stale fences pass, an evicted queue item is planned work lost.
 * Reads `CONFIG GET maxmemory-policy`, and `INFO memory` where CONFIG is
 * disabled (managed Redis); when neither answers, the warning says the
 * policy could not be checked.
 *
 * @example
 * const warnings = await maxmemoryWarnings(redis, 'redis://127.0.0.1:6379/0');
 */
export async function maxmemoryWarnings(redis: Redis, description: string): Promise<string[]> {
  const found = await readPolicy(redis);
  if (found.policy === 'noeviction') return [];
  const where = `redis ${description}: maxmemory-policy`;
  const why =
    'evicted keys break autoloop guarantees (a lost lease key lets a second holder in, a lost token ' +
    'counter lets stale writes through, a lost queue item is planned work lost)';
  const fix = 'run CONFIG SET maxmemory-policy noeviction and set it in redis.conf (or your provider settings)';
  if (found.policy === undefined) {
    return [`${where} could not be checked (${found.why}); unless it is noeviction, ${why}; to be sure, ${fix}`];
  }
  return [
    `${where} is "${found.policy}", expected "noeviction": when memory runs out Redis deletes keys and ${why}; ${fix}`,
  ];
}

async function readPolicy(redis: Redis): Promise<{ policy: string; why?: never } | { policy?: never; why: string }> {
  let configError: string;
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    if (reply[1]) return { policy: reply[1] };
    configError = 'CONFIG GET returned nothing';
  } catch (error) {
    configError = `CONFIG GET: ${(error as Error).message}`;
  }
  try {
    const info = await redis.info('memory');
    const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
    if (policy) return { policy };
    return { why: `${configError}; INFO memory has no maxmemory_policy` };
  } catch (error) {
    return { why: `${configError}; INFO memory: ${(error as Error).message}` };
  }
}
