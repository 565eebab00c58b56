import { isAbsolute, resolve } from 'node:path';
import { loadOptional } from '../core/optional-package.ts';
import { parseDuration } from '../time/duration.ts';
import type { RedisStoreOptions } from './redis/redis-store.ts';
import type { SqliteStoreOptions } from './sqlite/sqlite-store.ts';
import type { Store } from './store.ts';

/** The drivers' versions this release is tested with, named in the error when one is missing. */
const SQLITE_PACKAGE = 'better-sqlite3@12.11.1';
const REDIS_PACKAGE = 'ioredis@6.0.0';

const SUPPORTED = 'memory://, sqlite://./relative/path.db, sqlite:///absolute/path.db or redis://host:6379/0';

/**
 * Opens the store a URL names, as written in `autoloop.yaml`'s `store:`.
 *
 * - `memory://`: in this process only, lost on exit;
 * - `sqlite://./state.db`: a path relative to `options.cwd` (default: the
 *   process's working directory);
 * - `sqlite:///var/lib/autoloop/state.db`: an absolute path;
 * - `?synchronous=full` (sqlite): survive power loss, not just a process crash;
 * - `redis://[:password@]host:6379/0`, `rediss://...` (TLS): several
 *   machines on one Redis. Options: `?prefix=myapp:` (every key starts with
 *   it, default `autoloop:`; deployments sharing a Redis need different
 *   ones), `&commandTimeout=2s` (a command without a reply after this long
 *   fails with a StoreError, default 2s; a duration like `500ms`, `2s`).
 *   The store warns (`store.warnings`) when Redis's `maxmemory-policy` is
 *   not `noeviction`.
 *
 * Throws an Error naming the URL (password removed) and what is supported
 * when the URL is not understood, and a StoreError when the backend fails.
 *
 * @example
 * const store = await openStore('sqlite://./.autoloop/state.db');
 * const shared = await openStore('redis://:secret@redis.internal:6379/0?prefix=prices:&commandTimeout=1s');
 */
export async function openStore(url: string, options: { cwd?: string } = {}): Promise<Store> {
  const match = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(url);
  if (!match) throw badUrl(url, 'expected <scheme>://...');
  const scheme = match[1]!.toLowerCase();
  const [rest = '', query] = splitQuery(match[2]!);
  switch (scheme) {
    case 'memory':
      if (rest !== '' || query !== undefined) throw badUrl(url, 'memory:// takes no path or options');
      return new (await import('./memory/memory-store.ts')).MemoryStore();
    case 'sqlite': {
      const path = sqlitePath(url, rest, options.cwd);
      const storeOptions = sqliteOptions(url, query);
      // Backends load on demand: `import 'autoloop'` loads neither driver, and each is an optional dependency.
      const { SqliteStore } = await loadOptional(
        'sqlite:// stores',
        [SQLITE_PACKAGE],
        () => import('./sqlite/sqlite-store.ts'),
      );
      return SqliteStore.open(path, storeOptions);
    }
    case 'redis':
    case 'rediss': {
      const storeOptions = redisOptions(url, query);
      const withoutQuery = query === undefined ? url : url.slice(0, url.indexOf('?'));
      const { RedisStore } = await loadOptional(
        'redis:// stores',
        [REDIS_PACKAGE],
        () => import('./redis/redis-store.ts'),
      );
      return RedisStore.open(withoutQuery, storeOptions);
    }
    default:
      throw badUrl(url, `unknown scheme "${scheme}://"; expected ${SUPPORTED}`);
  }
}

/**
 * The URL with any password replaced by `***`, for logs and error messages:
 * `redis://:secret@host:6379` -> `redis://:***@host:6379`, and likewise a
 * `password=` or `token=` query parameter.
 */
export function redactStoreUrl(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/?#@:]*):[^/?#]*@/i, '$1$2:***@')
    .replace(/([?&](?:password|pass|token)=)[^&#]*/gi, '$1***');
}

function badUrl(url: string, why: string): Error {
  return new Error(`store URL "${redactStoreUrl(url)}": ${why}`);
}

function splitQuery(text: string): [string, string | undefined] {
  const at = text.indexOf('?');
  return at === -1 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

function sqlitePath(url: string, rest: string, cwd: string | undefined): string {
  let path: string;
  try {
    path = decodeURIComponent(rest);
  } catch {
    throw badUrl(url, 'the path is not valid percent-encoding');
  }
  if (path === '' || path === '/') {
    throw badUrl(url, 'expected a database file, e.g. sqlite://./.autoloop/state.db');
  }
  return isAbsolute(path) ? path : resolve(cwd ?? process.cwd(), path);
}

function sqliteOptions(url: string, query: string | undefined): SqliteStoreOptions {
  const options: SqliteStoreOptions = {};
  for (const [name, value] of new URLSearchParams(query ?? '')) {
    if (name !== 'synchronous') throw badUrl(url, `unknown option "${name}"; expected synchronous=normal|full`);
    if (value !== 'normal' && value !== 'full') {
      throw badUrl(url, `expected synchronous to be "normal" or "full", got "${value}"`);
    }
    options.synchronous = value;
  }
  return options;
}

const REDIS_OPTIONS = 'prefix=<key prefix, e.g. myapp:> and commandTimeout=<duration, e.g. 2s>';

/**
 * The query of a redis URL as RedisStore options. The query is not handed
 * to ioredis, which would take any parameter as a client option.
 */
function redisOptions(url: string, query: string | undefined): RedisStoreOptions {
  const options: RedisStoreOptions = {};
  const seen = new Set<string>();
  for (const [name, value] of new URLSearchParams(query ?? '')) {
    if (seen.has(name)) throw badUrl(url, `option "${name}" is given twice`);
    seen.add(name);
    if (name === 'prefix') {
      if (value === '') throw badUrl(url, 'expected prefix to be a non-empty key prefix like "myapp:", got ""');
      options.prefix = value;
    } else if (name === 'commandTimeout') {
      const ms = parseDuration(value);
      if (ms === undefined || ms <= 0) {
        throw badUrl(url, `expected commandTimeout to be a duration above 0 like "2s" or "500ms", got "${value}"`);
      }
      options.commandTimeoutMs = ms;
    } else {
      throw badUrl(url, `unknown option "${name}"; expected ${REDIS_OPTIONS}`);
    }
  }
  return options;
}
