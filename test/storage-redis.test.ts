import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisStore } from '../src/storage/redis/redis-store.ts';
import { StoreError } from '../src/storage/store.ts';
import { storageContract } from './storage-contract.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';

let server: TestRedis;
let admin: Redis;
/** Prefixes handed out since the last cleanup: each test's store has its own. */
const prefixes: string[] = [];

before(async () => {
  server = await startRedis();
  admin = new Redis(server.url, { lazyConnect: true });
  await admin.connect();
});

after(async () => {
  await admin?.quit();
  await server?.stop();
});

/** Deletes every key under the prefixes used by the test that just ran, and checks none is left. */
afterEach(async () => {
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

async function freshStore(): Promise<RedisStore> {
  const prefix = `autoloop-test:${randomBytes(6).toString('hex')}:`;
  prefixes.push(prefix);
  return RedisStore.open(server.url, { prefix });
}

storageContract('RedisStore', freshStore);

describe('RedisStore', () => {
  it('describes itself as redis://host:port/db without credentials', async () => {
    const store = await freshStore();
    assert.match(store.description, /^rediss?:\/\/[^@/]+:\d+\/\d+$/);
    await store.close();
  });

  it('keeps tests apart: stores with different prefixes share nothing', async () => {
    const a = await freshStore();
    const b = await freshStore();
    await a.leases.acquire('k', 'w', 1000, 0);
    assert.equal(await b.leases.currentToken('k'), 0);
    await a.close();
    await b.close();
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
