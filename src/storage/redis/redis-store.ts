import { Redis } from 'ioredis';
import type { CycleRecord, ItemResult } from '../../core/cycle-record.ts';
import {
  type CycleStore,
  type EventLog,
  type InstanceRegistry,
  type LeaseStore,
  type QueuedItem,
  type RateLimitStore,
  type Store,
  type StoredEvent,
  StoreError,
  type WorkQueue,
} from '../store.ts';
import { COORDINATION_SCRIPTS } from './coordination-scripts.ts';
import { RECORD_SCRIPTS } from './record-scripts.ts';
import { redisInstanceRegistry, redisLeaseStore, redisRateLimitStore } from './redis-coordination.ts';

/** Options for {@link RedisStore.open}. */
export interface RedisStoreOptions {
  /** Every key starts with it, so deployments (or tests) can share one Redis. Default `autoloop:`. */
  prefix?: string;
}

const SCRIPTS = { ...RECORD_SCRIPTS, ...COORDINATION_SCRIPTS };
export type ScriptName = keyof typeof SCRIPTS;

/** Runs one named operation: `script` calls a Lua script with the prefix prepended; `redis` is the raw client. */
export type RunRedis = <T>(op: string, fn: (io: RedisIo) => Promise<T>) => Promise<T>;
export interface RedisIo {
  readonly redis: Redis;
  /** The full key of `name` (the prefix prepended), for plain commands. */
  key(name: string): string;
  script(name: ScriptName, ...args: Array<string | number>): Promise<unknown>;
}

const DEFAULT_EVENT_LIMIT = 1000;

/**
 * The store on a Redis server (ioredis), shared by every autoloop instance
 * that points at it. Each operation is one Lua script (./record-scripts.ts,
 * ./coordination-scripts.ts) or one command, so it is atomic across
 * processes; time is always the caller's `now`, never Redis's clock.
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
  readonly #redis: Redis;
  readonly #io: RedisIo;
  #closed = false;

  /** Connects to `url` (`redis://` or `rediss://`) and checks it answers. Rejects with a {@link StoreError}. */
  static async open(url: string, options: RedisStoreOptions = {}): Promise<RedisStore> {
    const description = describeUrl(url);
    let redis: Redis | undefined;
    try {
      redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
      // Connection errors also reject the commands they affect (as StoreErrors); without a listener
      // ioredis would print each one as an "Unhandled error event".
      redis.on('error', () => {});
      for (const [name, lua] of Object.entries(SCRIPTS)) redis.defineCommand(name, { lua, numberOfKeys: 0 });
      await redis.connect();
      await redis.ping();
      return new RedisStore(description, redis, options.prefix ?? 'autoloop:');
    } catch (error) {
      redis?.disconnect();
      throw wrapError(description, 'open', error);
    }
  }

  private constructor(description: string, redis: Redis, prefix: string) {
    this.description = description;
    this.#redis = redis;
    const commands = redis as unknown as Record<ScriptName, (...args: Array<string | number>) => Promise<unknown>>;
    this.#io = { redis, key: (name) => prefix + name, script: (name, ...args) => commands[name](prefix, ...args) };
    const run: RunRedis = (op, fn) => this.#run(op, fn);
    this.cycles = this.#cycleStore(run);
    this.queue = this.#workQueue(run);
    this.events = this.#eventLog(run);
    this.leases = redisLeaseStore(run);
    this.instances = redisInstanceRegistry(run);
    this.buckets = redisRateLimitStore(run);
  }

  async ping(): Promise<void> {
    await this.#run('ping', (io) => io.redis.ping());
  }

  async prune(beforeMs: number): Promise<{ cycles: number; events: number }> {
    const [cycles, events] = (await this.#run('prune', (io) => io.script('prune', beforeMs))) as [number, number];
    return { cycles, events };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#redis.quit();
    } catch (error) {
      this.#redis.disconnect();
      throw wrapError(this.description, 'close', error);
    }
  }

  async #run<T>(op: string, fn: (io: RedisIo) => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreError(`redis ${this.description}: ${op}: the store is closed`);
    try {
      return await fn(this.#io);
    } catch (error) {
      throw wrapError(this.description, op, error);
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

  #workQueue(run: RunRedis): WorkQueue {
    const rows = async (op: string, loop: string | undefined) => {
      const reply = (await run(op, (io) =>
        io.script('queueRows', loop === undefined ? 1 : 0, loop ?? ''),
      )) as string[][];
      return reply.map(fromQueueRow).sort(queueOrder);
    };
    return {
      enqueue: async (loop, cycleId, items, claim, now) => {
        const args: Array<string | number> = [
          loop,
          cycleId,
          now,
          claim ? 1 : 0,
          claim?.owner ?? '',
          claim?.until ?? '',
        ];
        for (const item of items) args.push(item.key, item.priority, JSON.stringify(item.payload), item.idempotencyKey);
        const ids = (await run('queue.enqueue', (io) => io.script('queueEnqueue', ...args))) as string[];
        const added: QueuedItem[] = [];
        items.forEach((item, i) => {
          const id = ids[i];
          if (!id) return;
          const { key, priority, idempotencyKey } = item;
          const payload = JSON.parse(JSON.stringify(item.payload) ?? 'null');
          const copy = claim && { owner: claim.owner, until: claim.until };
          added.push({ id, loop, cycleId, key, priority, payload, idempotencyKey, enqueuedAt: now, claim: copy });
        });
        return added;
      },
      claimStale: async (loop, cycleId, claim, now, limit) => {
        const args = [loop, cycleId, claim.owner, claim.until, now, Math.floor(limit)];
        const reply = (await run('queue.claimStale', (io) => io.script('queueClaimStale', ...args))) as string[][];
        return take(reply.map(fromQueueRow), undefined);
      },
      complete: async (id, owner, result, fence) => {
        const entry = `${result.finishedAt} ${JSON.stringify(result)}`;
        const fenced = fence ? [1, fence.key, fence.token] : [0, '', 0];
        const args = [id, owner, ...fenced, result.cycleId, result.finishedAt, entry];
        return (await run('queue.complete', (io) => io.script('queueComplete', ...args))) === 1;
      },
      extend: async (ids, owner, until) =>
        (await run('queue.extend', (io) => io.script('queueExtend', owner, until, ...ids))) as string[],
      release: async (ids, owner) =>
        (await run('queue.release', (io) => io.script('queueRelease', owner, ...ids))) as number,
      depth: async (loop) => {
        const counts = new Map<string, { loop: string; priority: number; count: number }>();
        for (const item of await rows('queue.depth', loop)) {
          const id = JSON.stringify([item.loop, item.priority]);
          const row = counts.get(id) ?? { loop: item.loop, priority: item.priority, count: 0 };
          row.count++;
          counts.set(id, row);
        }
        return [...counts.values()].sort((a, b) => compareText(a.loop, b.loop) || a.priority - b.priority);
      },
      list: async (loop, options) => take(await rows('queue.list', loop), options?.limit),
    };
  }

  #eventLog(run: RunRedis): EventLog {
    const read = (op: string, fn: (io: RedisIo, index: string) => Promise<string[]>, loop: string | undefined) =>
      run(op, (io) => fn(io, io.key(loop === undefined ? 'ev:log' : `ev:loop:${loop}`))).then((m) => m.map(fromEvent));
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
      after: (afterSeq, options) => {
        const limit = Math.max(0, Math.floor(options?.limit ?? DEFAULT_EVENT_LIMIT));
        return read(
          'events.after',
          (io, index) => io.redis.zrangebyscore(index, `(${afterSeq}`, '+inf', 'LIMIT', 0, limit),
          options?.loop,
        );
      },
      latest: async (options) => {
        const limit = Math.max(0, Math.floor(options?.limit ?? DEFAULT_EVENT_LIMIT));
        if (limit === 0) return [];
        const newest = await read(
          'events.latest',
          (io, index) => io.redis.zrevrange(index, 0, limit - 1),
          options?.loop,
        );
        return newest.reverse();
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

function wrapError(description: string, op: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StoreError(`redis ${description}: ${op}: ${message}`, { cause: error });
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

interface QueueRow extends QueuedItem {
  readonly seq: number;
}

function fromQueueRow(flat: string[]): QueueRow {
  const h: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i]!] = flat[i + 1]!;
  const id = h.id ?? '';
  return {
    id,
    seq: Number(id),
    loop: h.loop ?? '',
    cycleId: h.cycleId ?? '',
    key: h.key ?? '',
    priority: Number(h.priority),
    payload: JSON.parse(h.payload ?? 'null'),
    idempotencyKey: h.idem ?? '',
    enqueuedAt: Number(h.enqueuedAt),
    claim: h.claimed === '1' ? { owner: h.owner ?? '', until: Number(h.until) } : null,
  };
}

function queueOrder(a: QueueRow, b: QueueRow): number {
  return a.priority - b.priority || a.enqueuedAt - b.enqueuedAt || a.seq - b.seq;
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

function take<T extends QueueRow>(list: T[], limit: number | undefined): QueuedItem[] {
  const kept = limit === undefined ? list : list.slice(0, Math.max(0, Math.floor(limit)));
  return kept.map(({ seq: _, ...item }) => item);
}

/** Code-unit order, as the other backends sort ids and loops. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
