import { Redis } from 'ioredis';
import type { CycleRecord, ItemResult } from '../../core/cycle-record.ts';
import { GroupCommit } from '../group-commit.ts';
import {
  type CycleStore,
  type DocumentStore,
  type EventLog,
  type InstanceRegistry,
  type JournalStore,
  type LeaseStore,
  type RateLimitStore,
  type Store,
  type StoredEvent,
  StoreError,
  type WorkQueue,
} from '../store.ts';
import { BATCH_SCRIPTS, type BatchedOp } from './batch-scripts.ts';
import { COORDINATION_SCRIPTS } from './coordination-scripts.ts';
import { EpochFloor } from './fencing-epoch.ts';
import { maxmemoryWarnings } from './maxmemory-policy.ts';
import { RECORD_SCRIPTS } from './record-scripts.ts';
import { RedisBroadcast } from './redis-broadcast.ts';
import { closeRedis, connectRedis, DEFAULT_COMMAND_TIMEOUT_MS, redisError, redisOptions } from './redis-connection.ts';
import { redisInstanceRegistry, redisLeaseStore, redisRateLimitStore } from './redis-coordination.ts';
import { redisDocumentStore } from './redis-documents.ts';
import { redisJournalStore } from './redis-journals.ts';
import { redisWorkQueue } from './redis-work-queue.ts';
import { STATE_SCRIPTS } from './state-scripts.ts';

/** Options for {@link RedisStore.open}. */
export interface RedisStoreOptions {
  /** Every key starts with it, so deployments (or tests) can share one Redis. Default `autoloop:`. */
  prefix?: string;
  /** A command with no reply after this long rejects with a StoreError naming the operation. Default 2000. */
  commandTimeoutMs?: number;
}

/** Every script the store defines on its connection, by name. */
export const SCRIPTS = { ...RECORD_SCRIPTS, ...COORDINATION_SCRIPTS, ...STATE_SCRIPTS, ...BATCH_SCRIPTS };
export type ScriptName = Exclude<keyof typeof SCRIPTS, 'opsBatch'>;

/**
 * The most operations one `opsBatch` call carries. A turn with more sends a
 * call as each fills, so redis-server works on the first while this process
 * prepares the next: at concurrency 10 the results and the next leases go
 * out as two calls, and the two overlap (bench/redis-throughput.ts: trial
 * runs at 10 against 32 gave a median 8.2k against 7.4k items/s at
 * concurrency 10, within noise at 1 and 100).
 */
const MAX_BATCH = 10;

/** Runs one named operation: `script` calls a Lua script with the prefix prepended; `redis` is the raw client. */
export type RunRedis = <T>(op: string, fn: (io: RedisIo) => Promise<T>) => Promise<T>;
export interface RedisIo {
  readonly redis: Redis;
  /** The full key of `name` (the prefix prepended), for plain commands. */
  key(name: string): string;
  script(name: ScriptName, ...args: Array<string | number>): Promise<unknown>;
  /**
   * Runs one of the per-item operations (./batch-scripts.ts). Those asked for
   * in the same turn of the event loop go out together as one `opsBatch`
   * call; each caller gets its own reply, or its own error.
   */
  batched(name: BatchedOp, ...args: Array<string | number>): Promise<unknown>;
}

const DEFAULT_EVENT_LIMIT = 1000;

/**
 * The store on a Redis server (ioredis), shared by every autoloop instance
 * that points at it. Each operation is one Lua script (./record-scripts.ts,
 * ./coordination-scripts.ts, ./state-scripts.ts) or one command, so it is atomic across
 * processes; the operations every item runs (lease acquire, complete,
 * release: ./batch-scripts.ts) made in one event-loop turn share one script
 * call, each still atomic and answered on its own; expiry is decided by the caller's `now`, and lease and instance
 * keys also get a Redis TTL so a dead process's keys vanish on their own.
 * Fencing tokens survive a Redis restart without persistence
 * (./fencing-epoch.ts).
 *
 * Outages: commands made while Redis is unreachable, or left without a reply
 * for `commandTimeoutMs`, reject at once with a StoreError; the connection
 * reconnects on its own (backoff capped at 2 s, ./redis-connection.ts).
 *
 * @example
 * const store = await RedisStore.open('redis://localhost:6379/0', { prefix: 'autoloop:' });
 * await store.cycles.list('signals', { limit: 10 });
 * await store.close();
 */
export class RedisStore implements Store {
  readonly description: string;
  readonly cycles: CycleStore;
  readonly queue: WorkQueue;
  readonly events: EventLog;
  readonly leases: LeaseStore;
  readonly instances: InstanceRegistry;
  readonly buckets: RateLimitStore;
  readonly documents: DocumentStore;
  readonly journals: JournalStore;
  readonly broadcast: RedisBroadcast;
  /** Set at open: `maxmemory-policy` is not `noeviction`, or could not be checked. */
  readonly warnings: readonly string[];
  readonly #redis: Redis;
  readonly #io: RedisIo;
  readonly #commandTimeoutMs: number;
  #closed = false;

  /**
   * Connects to `url` (`redis://` or `rediss://`, no query: see open-store.ts
   * for the URL options), checks it answers and reads its
   * `maxmemory-policy`. Rejects with a {@link StoreError}; throws an Error
   * for a bad option.
   */
  static async open(url: string, options: RedisStoreOptions = {}): Promise<RedisStore> {
    const description = describeUrl(url);
    const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    if (!Number.isFinite(commandTimeoutMs) || commandTimeoutMs <= 0) {
      throw new Error(`redis ${description}: expected commandTimeoutMs to be a number > 0, got ${commandTimeoutMs}`);
    }
    const prefix = options.prefix ?? 'autoloop:';
    let redis: Redis | undefined;
    try {
      redis = new Redis(url, redisOptions({ commandTimeoutMs }));
      for (const [name, lua] of Object.entries(SCRIPTS)) redis.defineCommand(name, { lua, numberOfKeys: 0 });
      await connectRedis(redis);
      await redis.ping();
      const warnings = await maxmemoryWarnings(redis, description);
      return new RedisStore(description, redis, prefix, commandTimeoutMs, warnings);
    } catch (error) {
      redis?.disconnect();
      throw redisError(description, 'open', error, commandTimeoutMs);
    }
  }

  private constructor(
    description: string,
    redis: Redis,
    prefix: string,
    commandTimeoutMs: number,
    warnings: readonly string[],
  ) {
    this.description = description;
    this.warnings = Object.freeze([...warnings]);
    this.#redis = redis;
    this.#commandTimeoutMs = commandTimeoutMs;
    type Command = (...args: Array<string | number>) => Promise<unknown>;
    const commands = redis as unknown as Record<keyof typeof SCRIPTS, Command>;
    const batch = new GroupCommit<{ name: BatchedOp; args: Array<string | number> }, [number, unknown]>(
      async (calls) => {
        // Flat, as the script reads them (./batch-scripts.ts); ARGV carries numbers as their decimal text.
        const argv: Array<string | number> = [prefix];
        for (const { name, args } of calls) argv.push(name, args.length, ...args);
        return JSON.parse((await commands.opsBatch(...argv)) as string) as Array<[number, unknown]>;
      },
      { maxBatch: MAX_BATCH },
    );
    this.#io = {
      redis,
      key: (name) => prefix + name,
      script: (name, ...args) => commands[name](prefix, ...args),
      batched: (name, ...args) =>
        batch.submit({ name, args }).then(([ok, reply]) => {
          if (ok !== 1) throw new Error(`${name} script error: ${String(reply)}`);
          return reply;
        }),
    };
    const run: RunRedis = (op, fn) => this.#run(op, fn);
    const floor = new EpochFloor();
    this.cycles = this.#cycleStore(run);
    this.queue = redisWorkQueue(run, floor);
    this.events = this.#eventLog(run);
    this.leases = redisLeaseStore(run, floor);
    this.instances = redisInstanceRegistry(run);
    this.buckets = redisRateLimitStore(run);
    this.documents = redisDocumentStore(run);
    this.journals = redisJournalStore(run);
    this.broadcast = new RedisBroadcast(redis, run);
  }

  async ping(): Promise<void> {
    await this.#run('ping', (io) => io.redis.ping());
  }

  async prune(beforeMs: number): Promise<{ cycles: number; events: number }> {
    const [cycles, events] = (await this.#run('prune', (io) => io.script('prune', beforeMs))) as [number, number];
    return { cycles, events };
  }

  /** Closes both connections (the store's and the broadcast subscriber's). Never rejects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.broadcast.close();
    await closeRedis(this.#redis);
  }

  #run<T>(op: string, fn: (io: RedisIo) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreError(`redis ${this.description}: ${op}: the store is closed`));
    try {
      return fn(this.#io).catch((error: unknown) => {
        throw redisError(this.description, op, error, this.#commandTimeoutMs);
      });
    } catch (error) {
      return Promise.reject(redisError(this.description, op, error, this.#commandTimeoutMs));
    }
  }

  #cycleStore(run: RunRedis): CycleStore {
    const records = async (op: string, index: string, dir: 'rev' | 'fwd', limit: number | undefined) =>
      pairs(await run(op, (io) => io.script('cycleRecords', index, dir, redisLimit(limit)))).map(fromCycle);
    return {
      start: async (record) => {
        const [head, tail] = toCycle(record);
        const flags = cycleFlags(record);
        const args = [record.id, record.tickId, record.loop, record.startedAt, head, tail, ...flags];
        return (await run('cycles.start', (io) => io.script('cycleStart', ...args))) === 1;
      },
      finish: async (record) => {
        const [, tail] = toCycle(record);
        await run('cycles.finish', (io) => io.script('cycleFinish', record.id, tail, ...cycleFlags(record)));
      },
      get: async (id) => {
        const [head, tail] = await run('cycles.get', (io) => io.redis.hmget(io.key(`cycle:${id}`), 'head', 'tail'));
        return head && tail ? fromCycle([head, tail]) : undefined;
      },
      list: (loop, options) => records('cycles.list', `cycles:${loop}`, 'rev', options?.limit),
      running: () => records('cycles.running', 'running', 'fwd', undefined),
      items: async (cycleId) => {
        const entries = await run('cycles.items', (io) => io.redis.lrange(io.key(`results:${cycleId}`), 0, -1));
        const results = entries.map((entry) => JSON.parse(entry.slice(entry.indexOf(' ') + 1)) as ItemResult);
        // Written in completion order; a stable sort by finishedAt keeps that order for ties.
        return results.sort((a, b) => a.finishedAt - b.finishedAt);
      },
      summary: async (loop) => {
        const reply = (await run('cycles.summary', (io) => io.script('cycleSummary', loop))) as string[];
        const [lastHead, lastTail, successHead, successTail] = reply;
        const last = lastHead && lastTail ? fromCycle([lastHead, lastTail]) : undefined;
        const success = successHead && successTail ? fromCycle([successHead, successTail]) : undefined;
        return {
          ...(last && { last }),
          ...(success?.finishedAt != null && { lastSuccessAt: success.finishedAt }),
        };
      },
    };
  }

  #eventLog(run: RunRedis): EventLog {
    const indexOf = (loop: string | undefined) => (loop === undefined ? 'ev:log' : `ev:loop:${loop}`);
    const lines = async (op: string, name: 'eventsAfter' | 'eventsLatest', ...args: Array<string | number>) =>
      ((await run(op, (io) => io.script(name, ...args))) as string[]).map(fromEvent);
    const limitOf = (limit: number | undefined) => Math.max(0, Math.floor(limit ?? DEFAULT_EVENT_LIMIT));
    return {
      append: async (events) => {
        if (events.length === 0) return;
        const args: Array<string | number> = [];
        for (const e of events) {
          const body = JSON.stringify({ at: e.at, type: e.type, loop: e.loop, data: e.data });
          args.push(e.at, e.loop === null ? 'N' : 'L', e.loop ?? '', body);
        }
        await run('events.append', (io) => io.script('eventsAppend', ...args));
      },
      after: (afterSeq, options) =>
        lines('events.after', 'eventsAfter', indexOf(options?.loop), afterSeq, limitOf(options?.limit)),
      latest: async (options) => {
        const limit = limitOf(options?.limit);
        return limit === 0 ? [] : lines('events.latest', 'eventsLatest', indexOf(options?.loop), limit);
      },
    };
  }
}

/** `redis://host:port/db` for logs: never any user name or password. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const db = parsed.pathname.replace(/^\//, '') || '0';
    return `${parsed.protocol}//${parsed.hostname || 'localhost'}:${parsed.port || '6379'}/${db}`;
  } catch {
    return 'redis://(unparsable url)';
  }
}

function toCycle(record: CycleRecord): [string, string] {
  const { finishedAt, steps, counts, outcome, ...head } = record;
  return [JSON.stringify(head), JSON.stringify({ finishedAt, steps, counts, outcome })];
}

function fromCycle([head, tail]: [string, string]): CycleRecord {
  return { ...JSON.parse(head), ...JSON.parse(tail) } as CycleRecord;
}

function cycleFlags(record: CycleRecord): [number, number] {
  const success = record.outcome.kind === 'ok' || record.outcome.kind === 'partial';
  return [record.finishedAt === null ? 1 : 0, success ? 1 : 0];
}

function pairs(reply: unknown): Array<[string, string]> {
  const flat = reply as string[];
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

function fromEvent(member: string): StoredEvent {
  const space = member.indexOf(' ');
  const body = JSON.parse(member.slice(space + 1)) as Omit<StoredEvent, 'seq'>;
  return { seq: Number(member.slice(0, space)), at: body.at, type: body.type, loop: body.loop, data: body.data };
}

/** A caller's limit for a script: absent -> -1 (all), otherwise floored and at least 0. */
function redisLimit(limit: number | undefined): number {
  return limit === undefined ? -1 : Math.max(0, Math.floor(limit));
}
