import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { openStore } from '../src/storage/open-store.ts';
import { BATCH_SCRIPTS } from '../src/storage/redis/batch-scripts.ts';
import { epochOfToken, TOKEN_SPAN } from '../src/storage/redis/fencing-epoch.ts';
import { RedisStore } from '../src/storage/redis/redis-store.ts';
import { type Store, StoreError } from '../src/storage/store.ts';
import { claim, cycle, item, result } from './storage-contract/fixtures.ts';
import { storageContract } from './storage-contract.ts';
import { type OwnedRedis, startOwnRedis, startRedis, type TestRedis } from './support/redis-server.ts';

let server: TestRedis;
let admin: Redis;
/** Prefixes handed out since the last cleanup: each test's store has its own. */
const prefixes: string[] = [];
/** Stores a test opened, closed after it even when it failed (an open connection keeps the run alive). */
const opened: Store[] = [];

before(async () => {
  server = await startRedis();
  admin = new Redis(server.url, { lazyConnect: true });
  await admin.connect();
});

after(async () => {
  await admin?.quit();
  await server?.stop();
});

/** Closes the test's stores, deletes every key under its prefixes, and checks none is left. */
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  for (const prefix of prefixes.splice(0)) {
    const keys = await keysUnder(prefix);
    if (keys.length > 0) await admin.del(...keys);
    assert.deepEqual(await keysUnder(prefix), [], `keys left under ${prefix}`);
  }
});

async function keysUnder(prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

function freshPrefix(): string {
  const prefix = `autoloop-test:${randomBytes(6).toString('hex')}:`;
  prefixes.push(prefix);
  return prefix;
}

async function freshStore(prefix = freshPrefix()): Promise<RedisStore> {
  // A generous command timeout: the contract is about answers, and a busy machine (another suite beside
  // this one) can take seconds over a bulk script. The timeout itself is tested in storage-redis-faults.
  const store = await RedisStore.open(server.url, { prefix, commandTimeoutMs: 15_000 });
  opened.push(store);
  return store;
}

storageContract('RedisStore', freshStore);

describe('RedisStore', () => {
  it('describes itself as redis://host:port/db without credentials', async () => {
    const store = await freshStore();
    assert.match(store.description, /^rediss?:\/\/[^@/]+:\d+\/\d+$/);
  });

  it('enqueues a cycle of 30,000 items in one call (items travel as one argument, not four each)', async () => {
    const store = await freshStore();
    const many = Array.from({ length: 30_000 }, (_, i) => ({ ...item(`k${i}`), priority: i % 3 }));
    const rows = await store.queue.enqueue('big', 'c1', many, null, 1000);
    assert.equal(rows.length, 30_000);
    assert.deepEqual(await store.queue.depth('big'), [
      { loop: 'big', priority: 0, count: 10_000 },
      { loop: 'big', priority: 1, count: 10_000 },
      { loop: 'big', priority: 2, count: 10_000 },
    ]);
  });

  it('keeps deployments apart: stores with different prefixes on one server share nothing', async () => {
    const a = await freshStore();
    const b = await freshStore();
    await a.leases.acquire('k', 'w1', 10_000, 0);
    await a.leases.acquire('k2', 'w1', 10_000, 0);
    const record = cycle();
    await a.cycles.start(record);
    await a.queue.enqueue('alpha', record.id, [item('x')], null, 0);
    assert.deepEqual(await b.leases.list(0), []);
    const inB = await b.leases.acquire('k', 'w2', 10_000, 0);
    assert.equal(inB!.token % TOKEN_SPAN, 1, 'k is free in b and its counter starts at 1');
    assert.equal(await b.cycles.get(record.id), undefined);
    assert.deepEqual(await b.queue.list(), []);
    assert.equal((await a.queue.list()).length, 1);
    assert.equal((await a.leases.list(0)).length, 2);
  });

  it('documents and journals live under the store prefix: another prefix sees none of them', async () => {
    const prefix = freshPrefix();
    const a = await freshStore(prefix);
    const b = await freshStore();
    await a.documents.put('supervise', 'api', { up: true }, { now: 1 });
    await a.journals.append('decide/audit', ['x', 'y'], 1);
    assert.equal(await b.documents.get('supervise', 'api'), undefined);
    assert.deepEqual(await b.documents.list('supervise'), []);
    assert.deepEqual(await b.journals.read('decide/audit'), []);
    assert.deepEqual(await b.journals.append('decide/audit', ['z'], 1), [1]);
    assert.deepEqual((await keysUnder(prefix)).sort(), [
      `${prefix}doc-keys:supervise`,
      `${prefix}doc-versions`,
      `${prefix}doc:supervise`,
      `${prefix}jr-seqs`,
      `${prefix}jr:decide/audit`,
    ]);
    await a.documents.delete('supervise', 'api');
    await a.journals.trim('decide/audit', { keepLast: 0 });
    assert.deepEqual(
      (await keysUnder(prefix)).sort(),
      [`${prefix}doc-versions`, `${prefix}jr-seqs`],
      'only the counters are left',
    );
  });

  it('appends a batch of 50,000 journal entries in one call (entries travel as one argument)', async () => {
    const store = await freshStore();
    const seqs = await store.journals.append(
      'big',
      Array.from({ length: 50_000 }, (_, i) => ({ i, note: 'a\nb' })),
      1,
    );
    assert.equal(seqs.length, 50_000);
    assert.deepEqual(seqs.slice(-1), [50_000]);
    const [last] = await store.journals.read('big', { after: 49_999 });
    assert.deepEqual(last, { seq: 50_000, at: 1, value: { i: 49_999, note: 'a\nb' } });
    assert.equal(await store.journals.trim('big', { before: 2 }), 50_000);
  });

  it('enqueue gives ids from one counter, only to the items it adds', async () => {
    const store = await freshStore();
    const ids = async (keys: string[], cycleId: string) =>
      (
        await store.queue.enqueue(
          'alpha',
          cycleId,
          keys.map((k) => item(k)),
          null,
          1000,
        )
      ).map((r) => [r.key, r.id]);
    assert.deepEqual(await ids(['a', 'b'], 'c1'), [
      ['a', '1'],
      ['b', '2'],
    ]);
    // b is queued, the second c repeats the first: neither takes an id.
    assert.deepEqual(await ids(['b', 'c', 'c'], 'c2'), [['c', '3']]);
    assert.deepEqual(await ids(['b'], 'c3'), []);
    assert.deepEqual(await ids(['d'], 'c4'), [['d', '4']]);
    assert.deepEqual((await store.queue.list()).map((r) => r.id).sort(), ['1', '2', '3', '4']);
  });

  it("complete with releaseLease refuses the holder's own older token once it leased the key again", async () => {
    const store = await freshStore();
    const old = await store.leases.acquire('k', 'w1', 1000, 1000);
    const renewed = await store.leases.acquire('k', 'w1', 10_000, 2500); // w1 again, after its first lease lapsed
    const [row] = await store.queue.enqueue('alpha', 'c1', [item('a')], claim('w1'), 1000);
    const stale = { key: 'k', token: old!.token };
    assert.equal(await store.queue.complete(row!.id, 'w1', result('c1', 'a'), stale, { releaseLease: true }), false);
    assert.deepEqual(
      (await store.leases.list(3000)).map((l) => [l.owner, l.token]),
      [['w1', renewed!.token]],
    );
    const current = { key: 'k', token: renewed!.token };
    assert.equal(await store.queue.complete(row!.id, 'w1', result('c1', 'a'), current, { releaseLease: true }), true);
    assert.deepEqual(await store.leases.list(3000), []);
  });

  it('the per-item operations of one turn go out as one script call, each with its own answer', async () => {
    const prefix = freshPrefix();
    const store = await freshStore(prefix);
    const held = await store.leases.acquire('busy', 'w1', 10_000, 1000);
    const rows = await store.queue.enqueue('alpha', 'c1', [item('a'), item('b')], claim('w1'), 1000);
    const a = await store.leases.acquire('ka', 'w1', 10_000, 1000);
    const monitor = await admin.monitor();
    const calls: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (!source.includes('lua') && args[0]?.toLowerCase() === 'evalsha' && args[3] === prefix) calls.push(args);
    });
    try {
      const outcomes = await Promise.all([
        store.queue.complete(
          rows[0]!.id,
          'w1',
          result('c1', 'a'),
          { key: 'ka', token: a!.token },
          { releaseLease: true },
        ),
        store.leases.acquire('busy', 'w2', 10_000, 1000),
        store.leases.acquire('kb', 'w1', 10_000, 1000),
        store.leases.release('busy', 'w1', held!.token),
        store.queue.complete(rows[1]!.id, 'w2', result('c1', 'b')),
      ]);
      assert.deepEqual(
        outcomes.map((o) => (typeof o === 'object' && o !== null ? o.key : o)),
        [true, undefined, 'kb', true, false],
      );
      await store.ping(); // the monitor sees commands in order: the batch is in by now
      assert.equal(calls.length, 1, `script calls: ${calls.map((c) => c.slice(0, 5).join(' ')).join(' | ')}`);
    } finally {
      monitor.disconnect();
    }
    assert.deepEqual(
      (await store.leases.list(2000)).map((l) => l.key),
      ['kb'],
    );
    assert.deepEqual(
      (await store.cycles.items('c1')).map((r) => r.key),
      ['a'],
    );
  });

  it('opsBatch answers each operation on its own: an error in one is its answer alone', async () => {
    const prefix = freshPrefix();
    const ops: Array<[string, string[]]> = [
      ['leaseAcquire', ['k', 'w1', '1000', '11000', '10000', '0']],
      // A `now` that is not a number fails the comparison with the held lease's expiry, before any write.
      ['leaseAcquire', ['k', 'w2', 'not-a-number', '11000', '10000', '0']],
      ['nope', []],
      ['leaseRelease', ['k', 'w1', '']],
    ];
    // ARGV as the store lays it out: the prefix, then per operation its name, argument count and arguments.
    const flat = (list: Array<[string, string[]]>) =>
      list.flatMap(([name, args]) => [name, String(args.length), ...args]);
    const tokenReply = await admin.eval(BATCH_SCRIPTS.opsBatch, 0, prefix, ...flat(ops));
    const answers = JSON.parse(tokenReply as string) as Array<[number, unknown]>;
    assert.equal(answers.length, 4);
    assert.equal(answers[0]![0], 1);
    const token = (answers[0]![1] as string[])[0];
    assert.deepEqual(answers.slice(1, 3), [
      [0, answers[1]![1]],
      [0, 'no such operation: nope'],
    ]);
    assert.match(String(answers[1]![1]), /compare/);
    assert.deepEqual(answers[3], [1, 0], 'the release with the wrong token is refused, and still answered');
    const again = JSON.parse(
      (await admin.eval(
        BATCH_SCRIPTS.opsBatch,
        0,
        prefix,
        ...flat([['leaseRelease', ['k', 'w1', token as string]]]),
      )) as string,
    );
    assert.deepEqual(again, [[1, 1]], 'the first acquire took effect');
  });

  it('claimStale takes pending and expired rows in queue order among thousands of live claims, also from a queue written without its index', async () => {
    const prefix = freshPrefix();
    const store = await freshStore(prefix);
    const live = Array.from({ length: 3000 }, (_, i) => item(`live${i}`, { priority: i % 3 }));
    await store.queue.enqueue('alpha', 'c1', live, claim('w1', 50_000), 1000);
    await store.queue.enqueue('alpha', 'c1', [item('soon', { priority: 1 })], claim('w2', 5000), 2000);
    await store.queue.enqueue('alpha', 'c1', [item('p-late', { priority: 2 })], null, 3000);
    await store.queue.enqueue('alpha', 'c1', [item('p-early', { priority: 2 })], null, 1500);
    await store.queue.enqueue('alpha', 'c1', [item('urgent', { priority: 0 })], null, 4000);
    const keys = (rows: Array<{ key: string }>) => rows.map((r) => r.key);
    assert.deepEqual(keys(await store.queue.claimStale('alpha', 'c2', claim('w3', 60_000), 4000, 10)), [
      'urgent',
      'p-early',
      'p-late',
    ]);
    // `soon`'s claim ends at 5000; the rows just claimed by w3 are live until 60,000.
    assert.deepEqual(keys(await store.queue.claimStale('alpha', 'c3', claim('w4', 70_000), 5000, 10)), ['soon']);
    assert.deepEqual(await store.queue.claimStale('alpha', 'c3', claim('w4', 70_000), 6000, 10), []);
    // Released rows are claimable again; extended ones stay live past their old until.
    const [urgent] = (await store.queue.list('alpha')).filter((r) => r.key === 'urgent');
    assert.equal(await store.queue.release([urgent!.id], 'w3'), 1);
    const mine = (await store.queue.list('alpha')).filter((r) => r.claim?.owner === 'w1').slice(0, 2);
    await store.queue.extend(
      mine.map((r) => r.id),
      'w1',
      90_000,
    );
    // Queue order: priority, then the oldest: the live rows (enqueued at 1000) before urgent (4000).
    assert.deepEqual(keys(await store.queue.claimStale('alpha', 'c4', claim('w5', 95_000), 55_000, 3)), [
      'live6',
      'live9',
      'live12',
    ]);
    // A queue from before the index (the key deleted): claimStale indexes it once and answers the same way.
    await admin.del(`${prefix}q:due:alpha`);
    const stale = await store.queue.claimStale('alpha', 'c5', claim('w6', 200_000), 89_000, 5000);
    assert.equal(stale.length, 3004 - 5, 'all but the two extended rows and the three w5 claimed');
    for (const key of ['live0', 'live3', 'live6', 'live9', 'live12']) assert.ok(!keys(stale).includes(key), key);
    assert.ok(keys(stale).includes('urgent'));
    assert.equal(await admin.zcard(`${prefix}q:due:alpha`), 3004);
    // A row released long before its claim ends is claimable at once; a completed one leaves the index.
    const [far] = await store.queue.enqueue('beta', 'c1', [item('far')], claim('w1', 1e12), 10);
    assert.equal(await store.queue.release([far!.id], 'w1'), 1);
    const [again] = await store.queue.claimStale('beta', 'c2', claim('w2', 1000), 20, 10);
    assert.equal(again?.key, 'far');
    assert.equal(await store.queue.complete(far!.id, 'w2', result('c2', 'far')), true);
    assert.equal(await admin.exists(`${prefix}q:due:beta`), 0);
  });

  it('open rejects with a StoreError naming the URL when nothing answers', async () => {
    await assert.rejects(RedisStore.open('redis://:secret@127.0.0.1:1/0'), (error: unknown) => {
      assert.ok(error instanceof StoreError);
      assert.match(error.message, /^redis redis:\/\/127\.0\.0\.1:1\/0: open: /);
      assert.doesNotMatch(error.message, /secret/);
      return true;
    });
  });
});

describe('RedisStore fencing tokens (epoch * 2^21 + per-key counter)', () => {
  it('tokens are the epoch (Redis TIME seconds when it began) times 2^21 plus the key counter', async () => {
    const prefix = freshPrefix();
    const store = await freshStore(prefix);
    const [before] = await admin.time();
    const a = await store.leases.acquire('a', 'w1', 10_000, 0);
    const b = await store.leases.acquire('b', 'w1', 10_000, 0);
    const [afterward] = await admin.time();
    const epoch = Number(await admin.get(`${prefix}epoch`));
    assert.ok(epoch >= Number(before) && epoch <= Number(afterward), `epoch ${epoch} from TIME`);
    assert.equal(a?.token, epoch * TOKEN_SPAN + 1);
    assert.equal(b?.token, epoch * TOKEN_SPAN + 1, 'keys count apart');
    assert.ok(Number.isSafeInteger(a!.token));
    await store.leases.release('a', 'w1', a!.token);
    const again = await store.leases.acquire('a', 'w2', 10_000, 0);
    assert.equal(again?.token, a!.token + 1);
    assert.equal(await store.leases.currentToken('a'), again?.token);
  });

  it('currentToken of a key never leased is the epoch base: every older token is stale for its fence', async () => {
    const store = await freshStore();
    const held = await store.leases.acquire('held', 'w1', 10_000, 0);
    const base = epochOfToken(held!.token) * TOKEN_SPAN;
    assert.equal(await store.leases.currentToken('never'), base);
    const rows = await store.queue.enqueue('alpha', 'c1', [item('a'), item('b')], claim('w1'), 0);
    const fenced = (row: number, token: number) =>
      store.queue.complete(rows[row]!.id, 'w1', result('c1', `r${row}`), { key: 'never', token });
    assert.equal(await fenced(0, base - 1), false, 'a token from the epoch before');
    assert.equal(await fenced(0, base), true);
    assert.equal(await fenced(1, 1), false, 'a small token, as a store without epochs would give');
  });

  it('a key whose counter runs out moves the store to a new epoch; tokens keep growing, other holders keep their fences', async () => {
    const prefix = freshPrefix();
    const store = await freshStore(prefix);
    const a = await store.leases.acquire('a', 'w1', 10_000, 0);
    const b = await store.leases.acquire('b', 'w2', 10_000, 0);
    const epoch = epochOfToken(a!.token);
    await store.leases.release('a', 'w1', a!.token);
    const last = (epoch + 1) * TOKEN_SPAN - 1; // the epoch's last counter value
    await admin.set(`${prefix}lease-token:a`, String(last));
    const next = await store.leases.acquire('a', 'w1', 10_000, 0);
    assert.ok(next && next.token > last, `${next?.token} after ${last}`);
    const newEpoch = epochOfToken(next.token);
    assert.ok(newEpoch > epoch);
    assert.equal(next.token, newEpoch * TOKEN_SPAN + 1);
    assert.equal(Number(await admin.get(`${prefix}epoch`)), newEpoch);

    // b's holder took its token in the old epoch and still holds the key: its fence still holds.
    const [row] = await store.queue.enqueue('alpha', 'c1', [item('x')], claim('w2'), 0);
    assert.equal(await store.leases.currentToken('b'), b!.token);
    assert.equal(await store.queue.complete(row!.id, 'w2', result('c1', 'x'), { key: 'b', token: b!.token }), true);
    await store.leases.release('b', 'w2', b!.token);
    const b2 = await store.leases.acquire('b', 'w2', 10_000, 0);
    assert.equal(b2?.token, newEpoch * TOKEN_SPAN + 1, 'b continues in the new epoch');
  });

  it('an epoch below what this client has seen (a restarted server set up with a clock behind) is raised above it', async () => {
    const prefix = freshPrefix();
    const store = await freshStore(prefix);
    const old = await store.leases.acquire('k', 'w1', 10_000, 0);
    const seen = epochOfToken(old!.token);
    // What a restart leaves when another client set the epoch from a clock 100 s behind: no counters, a lower epoch.
    await admin.del(`${prefix}lease-token:k`, `${prefix}lease:k`);
    await admin.set(`${prefix}epoch`, String(seen - 100));
    const next = await store.leases.acquire('k', 'w1', 10_000, 0);
    assert.ok(next && next.token > old!.token, `${next?.token} after ${old?.token}`);
    assert.ok(epochOfToken(next.token) > seen);
  });
});

describe('RedisStore server-side expiry', () => {
  it('a lease key carries a PX TTL of the lease ttl; renew moves it, a refused renew does not, release deletes the key', async () => {
    const prefix = freshPrefix();
    const store = await freshStore(prefix);
    const key = `${prefix}lease:k`;
    const lease = await store.leases.acquire('k', 'w1', 5000, 1000);
    const ttl = await admin.pttl(key);
    assert.ok(ttl > 4000 && ttl <= 5000, `PTTL ${ttl} after acquire with ttl 5000`);
    assert.equal(await store.leases.renew('k', 'w1', lease!.token, 60_000, 2000), 62_000);
    const renewed = await admin.pttl(key);
    assert.ok(renewed > 55_000 && renewed <= 60_000, `PTTL ${renewed} after renew with ttl 60000`);
    assert.equal(await store.leases.renew('k', 'w2', lease!.token, 1000, 2000), undefined);
    assert.ok((await admin.pttl(key)) > 55_000, 'a refused renew leaves the TTL');
    assert.equal(await store.leases.release('k', 'w1', lease!.token), true);
    assert.equal(await admin.exists(key), 0);
  });

  it('a dead holder lease key vanishes on its own after its ttl, with nobody sweeping; the key is then free', async () => {
    const prefix = freshPrefix();
    const store = await freshStore(prefix);
    const lease = await store.leases.acquire('k', 'dead', 150, 0);
    await waitFor(async () => (await admin.exists(`${prefix}lease:k`)) === 0, 150 + 1000, 'the lease key to expire');
    // The caller's clock says the lease is still live (now 0 < expiresAt 150), yet its record is gone.
    assert.deepEqual(await store.leases.list(0), []);
    const next = await store.leases.acquire('k', 'w2', 10_000, 0);
    assert.ok(next && !('tookOverFrom' in next) && next.token > lease!.token);
    assert.deepEqual(await store.leases.sweep(1000), [], 'nothing left to sweep');
  });

  it('an instance record carries a PX TTL of its heartbeat ttl and vanishes on its own', async () => {
    const prefix = freshPrefix();
    const store = await freshStore(prefix);
    const instance = { id: 'h:1:x', host: 'h', pid: 1, startedAt: 0, loops: [] };
    await store.instances.beat(instance, 30_000, 0);
    const ttl = await admin.pttl(`${prefix}inst:h:1:x`);
    assert.ok(ttl > 25_000 && ttl <= 30_000, `PTTL ${ttl}`);
    await store.instances.beat(instance, 150, 0);
    await waitFor(async () => (await admin.exists(`${prefix}inst:h:1:x`)) === 0, 1150, 'the instance key to expire');
    assert.deepEqual(await store.instances.list(0), [], 'gone although its expiresAt (150) is after now (0)');
    assert.equal(await admin.zcard(`${prefix}instances`), 0, 'list dropped it from the index');
  });
});

describe('openStore redis URLs', () => {
  it('?prefix= puts every key under the prefix; the default prefix is autoloop:', async () => {
    const prefix = freshPrefix();
    const store = await openStore(`${server.url}?prefix=${encodeURIComponent(prefix)}`);
    opened.push(store);
    await store.leases.acquire('k', 'w1', 10_000, 0);
    assert.equal(await admin.hget(`${prefix}lease:k`, 'owner'), 'w1');
    assert.doesNotMatch(store.description, /\?/);

    const key = `url-default-${randomBytes(4).toString('hex')}`;
    const plain = await openStore(server.url);
    opened.push(plain);
    const lease = await plain.leases.acquire(key, 'w1', 10_000, 0);
    assert.equal(await admin.hget(`autoloop:lease:${key}`, 'owner'), 'w1');
    await plain.leases.release(key, 'w1', lease!.token);
    await admin.del(`autoloop:lease-token:${key}`);
  });

  it('rejects unknown or bad options with the URL (password hidden) and the options allowed', async () => {
    const base = 'redis://:hunter2@127.0.0.1:1/0';
    const cases: Array<[string, RegExp]> = [
      ['?prefx=a:', /unknown option "prefx"; expected prefix=.* and commandTimeout=/],
      ['?prefix=', /expected prefix to be a non-empty key prefix/],
      ['?commandTimeout=fast', /expected commandTimeout to be a duration above 0 like "2s" or "500ms", got "fast"/],
      ['?commandTimeout=0', /expected commandTimeout to be a duration above 0 .*got "0"/],
      ['?prefix=a:&prefix=b:', /option "prefix" is given twice/],
    ];
    for (const [query, message] of cases) {
      await assert.rejects(openStore(`${base}${query}`), (error: Error) => {
        assert.ok(!(error instanceof StoreError), 'a config error, not a backend failure');
        assert.ok(error.message.startsWith(`store URL "redis://:***@127.0.0.1:1/0${query}": `), error.message);
        assert.match(error.message, message);
        assert.doesNotMatch(error.message, /hunter2/);
        return true;
      });
    }
  });
});

describe('RedisStore maxmemory-policy check at open', () => {
  let lru: OwnedRedis;
  before(async () => {
    lru = await startOwnRedis(['--maxmemory-policy', 'allkeys-lru']);
    const setup = new Redis(lru.url);
    await setup.call('ACL', 'SETUSER', 'noconfig', 'on', '>pw', '~*', '&*', '+@all', '-config');
    await setup.call('ACL', 'SETUSER', 'blind', 'on', '>pw', '~*', '&*', '+@all', '-config', '-info');
    await setup.quit();
  });
  after(() => lru?.stop());

  const userUrl = (user: string) => lru.url.replace('redis://', `redis://${user}:pw@`);

  it('warns, saying why and how to fix, when the policy may evict keys', async () => {
    const store = await RedisStore.open(lru.url);
    opened.push(store);
    assert.equal(store.warnings.length, 1);
    const [warning] = store.warnings;
    assert.match(warning!, /maxmemory-policy is "allkeys-lru", expected "noeviction"/);
    assert.match(warning!, /lease/);
    assert.match(warning!, /CONFIG SET maxmemory-policy noeviction/);
  });

  it('reads INFO memory where CONFIG is disabled (managed Redis)', async () => {
    const store = await RedisStore.open(userUrl('noconfig'));
    opened.push(store);
    assert.match(store.warnings.join('\n'), /maxmemory-policy is "allkeys-lru"/);
  });

  it('says the policy could not be checked when neither CONFIG nor INFO answers', async () => {
    // ioredis prints a console warning when INFO is refused for its ready check; keep the output clean.
    const warn = console.warn;
    const printed: unknown[] = [];
    console.warn = (...args: unknown[]) => printed.push(args);
    try {
      const store = await RedisStore.open(userUrl('blind'));
      opened.push(store);
      assert.equal(store.warnings.length, 1);
      assert.match(
        store.warnings[0]!,
        /maxmemory-policy could not be checked \(CONFIG GET: NOPERM.*INFO memory: NOPERM/,
      );
      assert.match(store.warnings[0]!, /CONFIG SET maxmemory-policy noeviction/);
    } finally {
      console.warn = warn;
    }
    assert.ok(printed.length <= 1);
  });

  it('has no warning on noeviction (redis-server default)', async () => {
    const own = await startOwnRedis();
    try {
      const store = await RedisStore.open(own.url);
      assert.deepEqual(store.warnings, []);
      await store.close();
    } finally {
      await own.stop();
    }
  });
});

describe('RedisStore broadcast', () => {
  it('delivers a message published by one store to the subscribers of another, on the channel as named', async () => {
    const a = await freshStore();
    const b = await freshStore();
    const channel = `chan-${randomBytes(4).toString('hex')}`;
    const gotB: string[] = [];
    const gotRaw: string[] = [];
    const stop = await b.broadcast.subscribe(channel, (message) => gotB.push(message));
    const raw = admin.duplicate();
    raw.on('message', (_channel: string, message: string) => gotRaw.push(message));
    await raw.subscribe(channel);
    try {
      assert.equal(await a.broadcast.publish(channel, 'hello'), 2, 'b and the raw subscriber');
      await waitFor(async () => gotB.length === 1 && gotRaw.length === 1, 2000, 'both subscribers');
      assert.deepEqual(gotB, ['hello']);
      assert.deepEqual(gotRaw, ['hello'], 'no key prefix on channels');
    } finally {
      await stop();
      await raw.quit();
    }
  });

  it('subscriptions share one connection; each is called until its unsubscribe', async () => {
    const a = await freshStore();
    const b = await freshStore();
    const channel = `chan-${randomBytes(4).toString('hex')}`;
    const first: string[] = [];
    const second: string[] = [];
    const stopFirst = await b.broadcast.subscribe(channel, (m) => first.push(m));
    const stopSecond = await b.broadcast.subscribe(channel, (m) => second.push(m));
    assert.equal(await a.broadcast.publish(channel, 'one'), 1, 'one subscriber connection');
    await waitFor(async () => first.length === 1 && second.length === 1, 2000, 'both handlers');
    await stopFirst();
    await a.broadcast.publish(channel, 'two');
    await waitFor(async () => second.length === 2, 2000, 'the second handler');
    assert.deepEqual(first, ['one']);
    await stopSecond();
    assert.equal(await a.broadcast.publish(channel, 'three'), 0, 'unsubscribed from Redis when none is left');
  });

  it('a throwing handler does not stop the others', async () => {
    const a = await freshStore();
    const channel = `chan-${randomBytes(4).toString('hex')}`;
    const got: string[] = [];
    await a.broadcast.subscribe(channel, () => {
      throw new Error('handler bug');
    });
    await a.broadcast.subscribe(channel, (m) => got.push(m));
    await a.broadcast.publish(channel, 'x');
    await a.broadcast.publish(channel, 'y');
    await waitFor(async () => got.length === 2, 2000, 'both messages');
  });

  it('close closes the subscriber connection too; broadcast calls after close reject with StoreError', async () => {
    const own = await startOwnRedis();
    const watcher = new Redis(own.url);
    try {
      const store = await RedisStore.open(own.url);
      await store.broadcast.subscribe('c', () => {});
      assert.equal(await clientCount(watcher), 3, 'watcher, store, subscriber');
      await store.close();
      await waitFor(async () => (await clientCount(watcher)) === 1, 2000, 'both store connections to close');
      await assert.rejects(store.broadcast.publish('c', 'x'), StoreError);
      await assert.rejects(
        store.broadcast.subscribe('c', () => {}),
        StoreError,
      );
    } finally {
      await watcher.quit();
      await own.stop();
    }
  });
});

async function clientCount(redis: Redis): Promise<number> {
  const list = (await redis.call('CLIENT', 'LIST')) as string;
  return list.trim().split('\n').length;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}
