/**
 * A child process for test/storage-sqlite-processes.test.ts: writes to one
 * SQLite file alongside other processes. Usage:
 *
 *   sqlite-writer.ts work  <db> <tag> <count>  enqueue+complete `count` items, one at a time
 *   sqlite-writer.ts race  <db> <tag> <count>  try cycles.start for ticks race@0..count-1
 *   sqlite-writer.ts burst <db> <tag>          write batches until killed
 *   sqlite-writer.ts leases <db> <tag> <ms>    for `ms` of real time, walk keys key-0..key-49 round and
 *                                              round: acquire, hold until the clock ticks, release
 *   sqlite-writer.ts bucket <db> <tag> <ms>    for `ms` of real time, take from bucket "shared"
 *                                              (100 per 1000 ms); when refused, sleep a random part of waitMs
 *   sqlite-writer.ts open <db>                 on "go", open the file (switch to WAL, migrate) and close it
 *
 * `work`, `race`, `leases` and `bucket` print "ready", wait for a line on
 * stdin, run, print one JSON line with their result and exit 0; any error
 * goes to stderr, exit 1. `burst` prints "committed <n>" after every batch it
 * fully wrote. Times in `leases` and `bucket` are `Date.now()`: the one clock
 * every process on the machine shares.
 */
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CycleRecord } from '../../src/core/cycle-record.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';

const [mode, path, tag = 'w', countText = '0'] = process.argv.slice(2);
const count = Number(countText);

function record(id: string, tickId: string, startedAt: number): CycleRecord {
  return {
    id,
    loop: 'race',
    tickId,
    trigger: 'interval',
    scheduledAt: startedAt,
    startedAt,
    finishedAt: null,
    steps: {},
    counts: { planned: 0, succeeded: 0, failed: 0, skipped: 0 },
    outcome: { kind: 'running' },
    owner: tag,
  };
}

async function waitForGo(): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  process.stdout.write('ready\n');
  await once(lines, 'line');
  lines.close();
}

async function work(store: SqliteStore): Promise<unknown> {
  const cycleId = `cycle-${tag}`;
  for (let i = 0; i < count; i++) {
    const key = `${tag}-${i}`;
    const claim = { owner: tag, until: Number.MAX_SAFE_INTEGER };
    const [row] = await store.queue.enqueue(
      'work',
      cycleId,
      [{ key, priority: i % 4, payload: { i }, idempotencyKey: key }],
      claim,
      i,
    );
    if (!row) throw new Error(`enqueue ${key}: not added`);
    const result = {
      cycleId,
      loop: 'work',
      key,
      idempotencyKey: key,
      priority: row.priority,
      status: 'succeeded' as const,
      attempts: 1,
      startedAt: i,
      finishedAt: i,
      durationMs: 0,
      output: { i },
    };
    if (!(await store.queue.complete(row.id, tag, result))) throw new Error(`complete ${key}: refused`);
  }
  return { done: count };
}

async function race(store: SqliteStore): Promise<unknown> {
  const wins: number[] = [];
  for (let i = 0; i < count; i++) {
    if (await store.cycles.start(record(`${tag}-${i}`, `race@${i}`, i))) wins.push(i);
  }
  return { wins };
}

const LEASE_KEYS = 50;
const BUCKET = { name: 'shared', capacity: 100, perMs: 1000 } as const;

/**
 * One held lease as its holder saw it: [key index, token, acquiredAt, releasedAt]. acquiredAt is read
 * after acquire returned, releasedAt before release was called: the lease was held for at least that
 * interval, so two holders' intervals of one key overlap only if the store let both hold it at once.
 */
type HeldInterval = [key: number, token: number, acquiredAt: number, releasedAt: number];

async function leases(store: SqliteStore): Promise<unknown> {
  const held: HeldInterval[] = [];
  let refused = 0;
  const end = Date.now() + count;
  // Every process walks the same keys in the same order from the same start, so they keep colliding.
  for (let i = 0; Date.now() < end; i++) {
    const k = i % LEASE_KEYS;
    const key = `key-${k}`;
    // A long TTL: no lease may expire mid-hold, so every acquire must follow a release.
    const lease = await store.leases.acquire(key, tag, 60_000, Date.now());
    if (!lease) {
      refused++;
      continue;
    }
    const acquiredAt = Date.now();
    while (Date.now() <= acquiredAt) await sleep(1);
    const releasedAt = Date.now();
    if (!(await store.leases.release(key, tag, lease.token))) throw new Error(`release ${key}#${lease.token}: refused`);
    held.push([k, lease.token, acquiredAt, releasedAt]);
  }
  return { held, refused };
}

async function bucket(store: SqliteStore): Promise<unknown> {
  let granted = 0;
  let refused = 0;
  let firstNow = Number.POSITIVE_INFINITY;
  let lastNow = 0;
  const end = Date.now() + count;
  while (Date.now() < end) {
    const now = Date.now();
    firstNow = Math.min(firstNow, now);
    lastNow = Math.max(lastNow, now);
    const answer = await store.buckets.take(BUCKET.name, BUCKET.capacity, BUCKET.perMs, now);
    if (answer.granted) granted++;
    else {
      refused++;
      // A random part of the wait: the processes poll out of step and race for each refilled token.
      await sleep(Math.floor(Math.random() * answer.waitMs));
    }
  }
  return { granted, refused, firstNow, lastNow };
}

/** Each batch: 10 items enqueued at once, the even ones completed, 5 events, one cycle started and finished. */
async function burst(store: SqliteStore): Promise<never> {
  for (let batch = 0; ; batch++) {
    const items = Array.from({ length: 10 }, (_, i) => {
      const key = `b${batch}-${i}`;
      return { key, priority: i % 3, payload: { batch, i, pad: 'x'.repeat(200) }, idempotencyKey: key };
    });
    const rows = await store.queue.enqueue('burst', `burst-${batch}`, items, { owner: tag, until: 1e15 }, batch);
    for (const row of rows.filter((_, i) => i % 2 === 0)) {
      const result = {
        cycleId: `burst-${batch}`,
        loop: 'burst',
        key: row.key,
        idempotencyKey: row.idempotencyKey,
        priority: row.priority,
        status: 'succeeded' as const,
        attempts: 1,
        startedAt: batch,
        finishedAt: batch,
        durationMs: 0,
        output: row.payload,
      };
      await store.queue.complete(row.id, tag, result);
    }
    await store.events.append(
      Array.from({ length: 5 }, (_, i) => ({ at: batch, type: 'burst', loop: 'burst', data: { batch, i } })),
    );
    const cycle = record(`burst-${batch}`, `burst@${batch}`, batch);
    await store.cycles.start({ ...cycle, loop: 'burst' });
    await store.cycles.finish({ ...cycle, loop: 'burst', finishedAt: batch, outcome: { kind: 'ok' } });
    process.stdout.write(`committed ${batch}\n`);
  }
}

async function main(): Promise<void> {
  if (!path) throw new Error('usage: sqlite-writer.ts <work|race|burst|leases|bucket|open> <db> [tag] [count]');
  if (mode === 'open') {
    // Opens only after "go": every process opens the same new file at the same moment.
    await waitForGo();
    const opened = SqliteStore.open(path);
    await opened.close();
    process.stdout.write(`${JSON.stringify({ opened: true })}\n`);
    return;
  }
  const store = SqliteStore.open(path);
  if (mode === 'burst') await burst(store);
  await waitForGo();
  const modes: Record<string, (store: SqliteStore) => Promise<unknown>> = { work, race, leases, bucket };
  const output = await modes[mode ?? '']?.(store);
  if (output === undefined) throw new Error(`unknown mode ${mode}`);
  await store.close();
  process.stdout.write(`${JSON.stringify(output)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
