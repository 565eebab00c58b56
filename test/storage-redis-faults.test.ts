/**
 * The Redis store under the faults a deployment meets, on a redis-server
 * each test owns (test/support/redis-server.ts): killed with SIGKILL and
 * restarted empty on the same port (no persistence), or paused with
 * SIGSTOP. Time here is real: the bounds are the ones the store promises
 * (reconnect backoff capped at 2 s, commandTimeout), with a margin for a
 * loaded machine.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { openStore } from '../src/storage/open-store.ts';
import { epochOfToken } from '../src/storage/redis/fencing-epoch.ts';
import { RECONNECT_CAP_MS } from '../src/storage/redis/redis-connection.ts';
import { RedisStore } from '../src/storage/redis/redis-store.ts';
import { type Store, StoreError } from '../src/storage/store.ts';
import { claim, item, result } from './storage-contract/fixtures.ts';
import { type OwnedRedis, startOwnRedis } from './support/redis-server.ts';

/** Slack on top of a promised bound, for a busy test machine. */
const MARGIN_MS = 1000;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function ownRedis(): Promise<OwnedRedis> {
  const redis = await startOwnRedis();
  cleanups.push(() => redis.stop());
  return redis;
}

async function open(url: string, options?: Parameters<typeof RedisStore.open>[1]): Promise<RedisStore> {
  const store = await RedisStore.open(url, options);
  cleanups.push(() => store.close());
  return store;
}

/** Milliseconds until `check` first resolves true, polling every 20 ms; fails after `timeoutMs`. */
async function timeUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check().catch(() => false)) return performance.now() - started;
    if (performance.now() - started > timeoutMs) assert.fail(`no ${what} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** How long `promise` takes to reject, and with what. */
async function rejection(promise: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = performance.now();
  try {
    await promise;
  } catch (error) {
    return { ms: performance.now() - started, error };
  }
  assert.fail('expected a rejection');
}

const answers = (store: Store) => () => store.ping().then(() => true);

describe('Redis restart without persistence', () => {
  it('fencing tokens stay monotonic across kill -9 and restart; a late complete with a fence from before is refused', async () => {
    const redis = await ownRedis();
    const store = await open(redis.url, { prefix: 'p:' });
    const before = await store.leases.acquire('k', 'w1', 60_000, 0);
    const other = await store.leases.acquire('other', 'w1', 60_000, 0);
    await redis.kill();
    await redis.restart();
    await timeUntil(answers(store), RECONNECT_CAP_MS + MARGIN_MS, 'reconnect');

    // The late writer (w1, paused through the restart) re-enqueued its work under the same owner id; nobody
    // has leased "other" since the restart, so only the epoch can tell its token is stale.
    const rows = await store.queue.enqueue('alpha', 'c2', [item('a'), item('b'), item('c')], claim('w1'), 0);
    const late = (row: number, key: string, token: number) =>
      store.queue.complete(rows[row]!.id, 'w1', result('c2', `r${row}`), { key, token });
    assert.equal(await late(0, 'other', other!.token), false, 'token from before the restart, counter wiped');
    const wiped = await store.leases.currentToken('other');
    assert.ok(wiped > other!.token, 'currentToken of a wiped key is above every token from before: the fence bar');

    const after = await store.leases.acquire('k', 'w2', 60_000, 0);
    assert.ok(after && after.token > before!.token, `token ${after?.token} after restart, ${before?.token} before`);
    assert.ok(epochOfToken(after.token) > epochOfToken(before!.token), 'a new epoch');
    assert.equal(await late(1, 'k', before!.token), false, 'the old fence after a new acquire');
    assert.equal(await late(2, 'k', after.token), true, 'the current fence is accepted');
  });

  it('tokens stay monotonic when a process with no memory of the old epoch is the first on the restarted server', async () => {
    const redis = await ownRedis();
    const first = await open(redis.url);
    const before = await first.leases.acquire('k', 'w1', 60_000, 0);
    // The documented assumption (src/storage/redis/fencing-epoch.ts): the restarted server's clock is past the
    // second the old epoch began. Without a client floor, a server that dies and comes back within the very
    // second its epoch began would start the same epoch again.
    const admin = new Redis(redis.url);
    await timeUntil(async () => Number((await admin.time())[0]) > epochOfToken(before!.token), 2000, 'next second');
    admin.disconnect();
    await redis.kill();
    await redis.restart();
    const fresh = await open(redis.url);
    const after = await fresh.leases.acquire('k', 'w2', 60_000, 0);
    assert.ok(after && after.token > before!.token, 'the new epoch comes from Redis TIME, later than the old one');
  });

  it('scripts load again on a restarted, empty server and after SCRIPT FLUSH', async () => {
    const redis = await ownRedis();
    const store = await open(redis.url);
    await store.events.append([{ at: 1, type: 'a', loop: null, data: {} }]);
    await redis.kill();
    await redis.restart();
    await timeUntil(answers(store), RECONNECT_CAP_MS + MARGIN_MS, 'reconnect');
    await store.events.append([{ at: 2, type: 'b', loop: null, data: {} }]);
    const admin = new Redis(redis.url);
    await admin.script('FLUSH');
    await admin.quit();
    await store.events.append([{ at: 3, type: 'c', loop: null, data: {} }]);
    assert.deepEqual(
      (await store.events.after(0)).map((e) => e.type),
      ['b', 'c'],
      'the restart lost "a" (no persistence); the scripts ran',
    );
  });
});

describe('Redis outage', () => {
  it('commands during an outage reject at once with a StoreError; the client reconnects alone within the backoff cap', async (t) => {
    const redis = await ownRedis();
    const store = await open(redis.url);
    await redis.kill();
    // Long enough for the reconnect backoff to reach its cap (200 + 400 + 800 + 1600 ms).
    const outageEnd = performance.now() + 3500;
    let calls = 0;
    while (performance.now() < outageEnd) {
      const { ms, error } = await rejection(store.leases.acquire('k', 'w1', 10_000, 0));
      assert.ok(error instanceof StoreError, String(error));
      assert.match(error.message, /leases\.acquire: /);
      assert.ok(ms < 2000, `rejected after ${ms} ms, commandTimeout is 2000 ms`);
      calls++;
      await sleep(100);
    }
    const { error } = await rejection(store.queue.list());
    assert.match(String(error), /queue\.list: not connected \(Redis is unreachable; reconnecting in the background\)/);
    await redis.restart();
    const reconnectMs = await timeUntil(answers(store), RECONNECT_CAP_MS + MARGIN_MS, 'reconnect');
    t.diagnostic(`${calls} calls rejected during the outage; reconnected ${Math.round(reconnectMs)} ms after restart`);
    assert.ok(await store.leases.acquire('k', 'w1', 10_000, 0));
  });

  it('a command in flight when the connection drops rejects at once, not after commandTimeout', async () => {
    const redis = await ownRedis();
    const store = await open(redis.url, { commandTimeoutMs: 10_000 });
    redis.pause();
    const pending = rejection(store.ping());
    await sleep(100);
    await redis.kill();
    const { ms, error } = await pending;
    assert.ok(error instanceof StoreError);
    assert.match(error.message, /ping: the connection dropped before the reply; the command may or may not have run/);
    assert.ok(ms < 2000, `rejected ${Math.round(ms)} ms after it was sent, long before the 10 s commandTimeout`);
  });

  it('a stalled server (SIGSTOP) fails commands after commandTimeout from the URL, naming the operation; all is well after SIGCONT', async (t) => {
    const redis = await ownRedis();
    const store = await openStore(`${redis.url}?commandTimeout=300ms&prefix=stall:`);
    cleanups.push(() => store.close());
    await store.leases.acquire('k', 'w1', 60_000, 0);
    redis.pause();
    const { ms, error } = await rejection(store.leases.list(0));
    assert.ok(error instanceof StoreError);
    assert.match(error.message, /leases\.list: no reply within 300 ms \(commandTimeout\)/);
    assert.ok(ms >= 290 && ms < 300 + MARGIN_MS, `rejected after ${Math.round(ms)} ms`);
    redis.resume();
    const recoveredMs = await timeUntil(answers(store), 5000 + RECONNECT_CAP_MS + MARGIN_MS, 'answer after SIGCONT');
    t.diagnostic(`answered ${Math.round(recoveredMs)} ms after SIGCONT`);
    assert.deepEqual(
      (await store.leases.list(0)).map((l) => l.owner),
      ['w1'],
    );
  });
  it('a server stalled past the socket timeout is dropped and dialled again: calls then reject at once; it heals after SIGCONT', async (t) => {
    const redis = await ownRedis();
    const store = await open(redis.url, { commandTimeoutMs: 300 });
    redis.pause();
    const pausedAt = performance.now();
    const timedOut = await rejection(store.ping());
    assert.match(String(timedOut.error), /no reply within 300 ms/);
    // socketTimeout is max(2 x commandTimeout, 5 s): past it the silent connection is closed.
    await sleep(Math.max(0, pausedAt + 5000 + 500 - performance.now()));
    const { ms, error } = await rejection(store.ping());
    assert.ok(error instanceof StoreError);
    assert.match(error.message, /ping: not connected/);
    assert.ok(ms < 300, `rejected after ${Math.round(ms)} ms, without waiting for commandTimeout`);
    redis.resume();
    const healedMs = await timeUntil(answers(store), RECONNECT_CAP_MS + MARGIN_MS, 'answer after SIGCONT');
    t.diagnostic(`answered ${Math.round(healedMs)} ms after SIGCONT`);
  });
});

describe('Redis broadcast across a restart', () => {
  it('a subscription keeps receiving after the server restarts (ioredis subscribes again)', async (t) => {
    const redis = await ownRedis();
    const publisher = await open(redis.url);
    const subscriber = await open(redis.url);
    const got: string[] = [];
    await subscriber.broadcast.subscribe('events', (m) => got.push(m));
    await publisher.broadcast.publish('events', 'before');
    await timeUntil(async () => got.includes('before'), 2000, 'message before the restart');
    await redis.kill();
    await redis.restart();
    let n = 0;
    const ms = await timeUntil(
      async () => {
        await publisher.broadcast.publish('events', `after-${n++}`);
        return got.some((m) => m.startsWith('after-'));
      },
      RECONNECT_CAP_MS + MARGIN_MS,
      'message after the restart',
    );
    t.diagnostic(`first message through ${Math.round(ms)} ms after the restart`);
  });
});
