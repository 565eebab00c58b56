import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultPlan, type LoopDefinition } from '../core/loop.ts';
import { ConfigError } from './config-error.ts';
import { defineLoop } from './define-loop.ts';
import { resolveLoop } from './resolve-loop.ts';

describe('resolveLoop', () => {
  it('fills defaults and normalises durations', async () => {
    const act = () => 'done';
    const loop = resolveLoop(
      { name: 'prices', trigger: { interval: '15s' }, act, policies: { timeout: '10s' } },
      'here',
    );
    assert.ok(Object.isFrozen(loop));
    assert.equal(loop.name, 'prices');
    assert.equal(loop.description, '');
    assert.deepEqual(loop.trigger, { kind: 'interval', everyMs: 15_000 });
    assert.equal(loop.overlap, 'skip');
    assert.equal(loop.act, act);
    assert.equal(loop.plan, defaultPlan);
    assert.equal(await loop.observe({} as never), undefined);
    assert.deepEqual(loop.policies, {
      timeoutMs: 10_000,
      retry: { attempts: 1, baseMs: 1_000, maxMs: 30_000 },
      concurrency: 10,
      lease: true,
      order: 'longest-first',
      uses: [],
      adaptive: null,
      backpressure: { after: 3, cooldownTicks: 2 },
    });
  });

  it('throws a ConfigError naming where, with every issue', () => {
    const def = { name: '1st', trigger: { cron: 'nope', timezone: 'UTC' }, act: 'not a function', extra: 1 };
    assert.throws(
      () => resolveLoop(def as unknown as LoopDefinition, 'defineLoop(1st)'),
      (error) => {
        assert.ok(error instanceof ConfigError);
        const lines = error.message.split('\n').map((line) => line.replace(/; .*$/, ''));
        assert.deepEqual(lines, [
          'defineLoop(1st): name: expected a loop name (letters, digits, "-" and "_", starting with a letter), got "1st"',
          'defineLoop(1st): trigger.cron: expected a cron expression like "*/1 * * * *", got "nope"',
          'defineLoop(1st): act: expected a function (item, ctx) => result, got "not a function"',
          'defineLoop(1st): (top level): unknown key "extra"',
        ]);
        return true;
      },
    );
  });
});

describe('defineLoop', () => {
  it('returns the definition unchanged, with its types inferred', () => {
    const def = {
      name: 'typed',
      trigger: { manual: true as const },
      observe: () => [1, 2],
      plan: (numbers: number[]) => numbers.map((n) => ({ key: String(n), payload: { n } })),
      act: (item: { payload: { n: number } }) => item.payload.n * 2,
    };
    const loop = defineLoop(def);
    assert.equal(loop, def);
  });

  it('validates at definition time, naming the loop', () => {
    assert.throws(
      () => defineLoop({ name: 'late', trigger: { interval: '5 minutes' }, act: () => null }),
      (error) =>
        error instanceof ConfigError &&
        error.message ===
          'defineLoop(late): trigger.interval: expected a duration like "30s", "2m" or 1500 (ms) of at least 1 ms, got "5 minutes"' &&
        error.issues[0]?.file === 'defineLoop(late)',
    );
  });
});
