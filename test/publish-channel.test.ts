/**
 * A loop's `publish.channel` (seed 002's `channel:raw-signals`): each
 * succeeded item's result, once stored, is published as JSON on the channel;
 * a plain ioredis subscriber receives each one exactly once. Failed items are
 * not published. Real redis-server.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { ConfigError } from '../src/config/config-error.ts';
import { defineLoop } from '../src/config/define-loop.ts';
import { TerminalError } from '../src/core/errors.ts';
import type { Logger } from '../src/core/logger.ts';
import type { PublishedResult } from '../src/observability/events.ts';
import { createRuntime, type Runtime } from '../src/runtime/runtime.ts';
import { RedisStore } from '../src/storage/redis/redis-store.ts';
import { waitFor } from './http-support.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';

const CHANNEL = `channel:raw-signals:${randomBytes(4).toString('hex')}`;
const SYMBOLS = ['BTC/USD', 'ETH/USD', 'SOL/USD', 'BAD/USD'];

function signalsLoop(channel: string) {
  return defineLoop({
    name: 'signals',
    trigger: { manual: true },
    observe: () => SYMBOLS,
    act: (item) => {
      if (item.key === 'BAD/USD') throw new TerminalError('no such market');
      return { symbol: item.key, score: item.key.length };
    },
    publish: { channel },
  });
}

describe('publish.channel', () => {
  let redis: TestRedis | undefined;
  let runtime: Runtime | undefined;
  let store: RedisStore | undefined;
  let subscriber: Redis | undefined;
  after(async () => {
    await runtime?.stop({ graceMs: 2_000 });
    await store?.close();
    subscriber?.disconnect();
    await redis?.stop();
  });

  it("a subscriber on the channel receives each succeeded item's result once, after it was stored", async () => {
    redis = await startRedis();
    subscriber = new Redis(redis.url, { lazyConnect: true });
    await subscriber.connect();
    const received: PublishedResult[] = [];
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === CHANNEL) received.push(JSON.parse(message) as PublishedResult);
    });
    await subscriber.subscribe(CHANNEL);

    store = await RedisStore.open(redis.url, { prefix: `autoloop-test:${randomBytes(6).toString('hex')}:` });
    runtime = createRuntime({ loops: [signalsLoop(CHANNEL)], store });
    await runtime.start({ schedule: false });
    const first = await runtime.run('signals');
    const second = await runtime.run('signals');
    for (const cycle of [first, second]) {
      assert.deepEqual(cycle.counts, { planned: 4, succeeded: 3, failed: 1, skipped: 0 });
    }
    await waitFor('six published results', () => received.length >= 6, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 200)); // a seventh would have arrived by now

    assert.equal(received.length, 6, 'each succeeded item once; the failed one not at all');
    for (const cycle of [first, second]) {
      const mine = received.filter((r) => r.cycleId === cycle.id);
      assert.deepEqual(mine.map((r) => r.key).sort(), ['BTC/USD', 'ETH/USD', 'SOL/USD']);
      const stored = await store.cycles.items(cycle.id);
      for (const message of mine) {
        const result = stored.find((r) => r.key === message.key);
        assert.ok(result, `the result of ${message.key} was stored`);
        assert.deepEqual(message, {
          loop: 'signals',
          key: message.key,
          cycleId: cycle.id,
          tickId: cycle.tickId,
          output: { symbol: message.key, score: message.key.length },
          finishedAt: result.finishedAt,
        });
      }
    }
  });

  it('without a Redis store nothing is published, and the loop is named once at start', async () => {
    const warnings: string[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      warn: (_f, message = '') => warnings.push(message),
      error() {},
      child: () => logger,
    };
    const memory = createRuntime({ loops: [signalsLoop('channel:raw-signals')], store: 'memory://', logger });
    await memory.start({ schedule: false });
    const record = await memory.run('signals');
    await memory.stop();
    assert.equal(record.counts.succeeded, 3);
    assert.deepEqual(
      warnings.filter((w) => w.includes('publish.channel')),
      [
        'loop signals: publish.channel "channel:raw-signals" needs a Redis store (redis://...); this store has no pub/sub, so results are stored but not published',
      ],
    );
  });

  it('a bad channel is a config error naming where and what', () => {
    assert.throws(
      () => signalsLoop('has space'),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(
          error.message,
          /^defineLoop\(signals\): publish\.channel: expected a pub\/sub channel name like "channel:raw-signals" \(no spaces\), got "has space"$/,
        );
        return true;
      },
    );
  });
});
