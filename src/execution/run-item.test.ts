import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveLoop } from '../config/resolve-loop.ts';
import { ShutdownError } from '../core/errors.ts';
import type { ItemContext, LoopDefinition } from '../core/loop.ts';
import { retryAfter } from '../core/outcome.ts';
import type { WorkItem } from '../core/work-item.ts';
import { type AnyEvent, EventBus } from '../observability/events.ts';
import { VirtualClock } from '../time/virtual-clock.ts';
import { AttemptSet } from './attempt.ts';
import { WorkerPool } from './pool.ts';
import { runItem } from './run-item.ts';

/** One cycle's worth of runItem's collaborators on a virtual clock; random 0.5 so the backoff would be 500 ms, 1 s, … */
function setup(act: LoopDefinition['act'], policies: LoopDefinition['policies'] = {}, concurrency = 4) {
  const clock = new VirtualClock();
  const loop = resolveLoop({ name: 'l', trigger: { manual: true }, act, policies }, 'test');
  const controller = new AbortController();
  const bus = new EventBus({ now: () => clock.now() });
  const events: AnyEvent[] = [];
  bus.onAny((event) => events.push(event));
  const pool = new WorkerPool(concurrency);
  const cycle = {
    loop: 'l',
    cycleId: 'c1',
    tick: { id: 'l@manual:1', loop: 'l', trigger: 'manual', scheduledAt: clock.now() },
    signal: controller.signal,
    clock,
  } as const;
  const deps = { pool, bus, random: () => 0.5, attempts: new AttemptSet(controller.signal) };
  const item = (key: string): WorkItem => ({ key, priority: 0, payload: null, idempotencyKey: `l:${key}` });
  const run = (key = 'k') => runItem(loop, item(key), cycle, deps);
  const of = <T extends AnyEvent['type']>(type: T) =>
    events.filter((e) => e.type === type).map((e) => e.data as Extract<AnyEvent, { type: T }>['data']);
  return { clock, controller, pool, run, of };
}

describe('runItem: an act that returns retryAfter', () => {
  it('is retried after exactly the asked delay, not the backoff, and its result is the next answer', async () => {
    const startedAt: number[] = [];
    const { clock, run, of } = setup(
      (_item, ctx: ItemContext) => {
        startedAt.push(clock.monotonic());
        return ctx.attempt === 1 ? retryAfter('7s', 'not ready') : { ready: true };
      },
      { retry: { attempts: 3, backoff: '1s' } },
    );
    const running = run();
    await clock.advance(6_999);
    assert.deepEqual(startedAt, [0], 'the backoff would have been 500 ms');
    await clock.advance(1);
    const result = await running;
    assert.deepEqual(startedAt, [0, 7_000]);
    assert.equal(result.status, 'succeeded');
    assert.equal(result.attempts, 2);
    assert.deepEqual(result.output, { ready: true });
    assert.deepEqual(of('item.retried'), [
      {
        loop: 'l',
        cycleId: 'c1',
        key: 'k',
        attempt: 1,
        delayMs: 7_000,
        error: { name: 'RetryRequestedError', message: 'asked for a retry after 7000 ms (not ready)' },
      },
    ]);
    assert.equal(of('item.succeeded').length, 1);
    assert.equal(clock.pendingTimers, 0);
  });

  it('fails with a message saying it asked for a retry once the attempts are used up', async () => {
    const startedAt: number[] = [];
    const { clock, run, of } = setup(
      () => {
        startedAt.push(clock.monotonic());
        return retryAfter(100, 'queue busy');
      },
      { retry: { attempts: 3 } },
    );
    const running = run();
    await clock.advance(10_000);
    const result = await running;
    assert.deepEqual(startedAt, [0, 100, 200]);
    assert.equal(result.status, 'failed');
    assert.equal(result.attempts, 3);
    assert.equal(result.output, undefined);
    const error = {
      name: 'RetryRequestedError',
      message: 'asked for a retry after 100 ms (queue busy), but no attempt is left (3 used)',
    };
    assert.deepEqual(result.error, error);
    assert.deepEqual(
      of('item.retried').map((e) => e.delayMs),
      [100, 100],
    );
    assert.deepEqual(
      of('item.failed').map((e) => ({ attempts: e.attempts, error: e.error })),
      [{ attempts: 3, error }],
    );
  });

  it('with the default of one attempt, fails at once', async () => {
    const { run, of } = setup(() => retryAfter('1m'));
    const result = await run();
    assert.equal(result.status, 'failed');
    assert.equal(result.error?.message, 'asked for a retry after 60000 ms, but no attempt is left (1 used)');
    assert.equal(of('item.retried').length, 0);
  });

  it('waits outside the pool: another item takes the slot meanwhile', async () => {
    const log: string[] = [];
    const { clock, run } = setup(
      (item, ctx: ItemContext) => {
        log.push(`${item.key}#${ctx.attempt}@${clock.monotonic()}`);
        return item.key === 'a' && ctx.attempt === 1 ? retryAfter('5s') : 'done';
      },
      { retry: { attempts: 2 } },
      1,
    );
    const both = Promise.all([run('a'), run('b')]);
    await clock.advance(5_000);
    const results = await both;
    assert.deepEqual(log, ['a#1@0', 'b#1@0', 'a#2@5000']);
    assert.deepEqual(
      results.map((r) => r.status),
      ['succeeded', 'succeeded'],
    );
  });

  it('a plain object shaped like an outcome is a result', async () => {
    const { run } = setup(() => ({ kind: 'retry', afterMs: 5 }), { retry: { attempts: 3 } });
    const result = await run();
    assert.equal(result.status, 'succeeded');
    assert.deepEqual(result.output, { kind: 'retry', afterMs: 5 });
  });
});

describe('runItem on the retry policy', () => {
  it('puts the first attempt in the pool before it returns (act.ts counts on it)', () => {
    const { pool, run } = setup(() => new Promise(() => {}));
    void run();
    assert.equal(pool.active, 1);
  });

  it('a shutdown during a backoff fails the item with a ShutdownError; its duration ends with the last attempt', async () => {
    const { clock, controller, run, of } = setup(
      async () => {
        await clock.sleep(200);
        throw new Error('flaky');
      },
      { retry: { attempts: 3, backoff: '10s' } },
    );
    const running = run();
    await clock.advance(1_200); // attempt 1 ended at 200 ms; the backoff is 5 s
    controller.abort(new ShutdownError());
    const result = await running;
    assert.equal(result.status, 'failed');
    assert.equal(result.attempts, 1);
    assert.equal(result.durationMs, 200);
    assert.deepEqual(result.error, { name: 'ShutdownError', message: 'aborted during backoff after attempt 1' });
    assert.deepEqual(
      of('item.retried').map((e) => e.delayMs),
      [5_000],
    );
    assert.equal(of('item.failed').length, 1);
    assert.equal(clock.pendingTimers, 0);
  });
});
