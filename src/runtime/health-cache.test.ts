import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../time/virtual-clock.ts';
import { type HealthReport, healthReport } from './health.ts';
import { HealthCache } from './health-cache.ts';

const INTERVAL_MS = 1_000;

function setup(options: { slow?: () => Promise<void>; fail?: boolean } = {}) {
  const clock = new VirtualClock({ now: Date.UTC(2026, 0, 1) });
  let state = 'running';
  let computed = 0;
  const compute = async (): Promise<HealthReport> => {
    computed += 1;
    await options.slow?.();
    if (options.fail) throw new Error('store ping timed out');
    return healthReport({ runtime: { healthy: state === 'running', detail: state } }, clock.now());
  };
  const cache = new HealthCache({ compute, clock, intervalMs: INTERVAL_MS, version: () => state });
  const controller = new AbortController();
  const running = cache.run(controller.signal);
  return {
    clock,
    cache,
    computed: () => computed,
    setState: (next: string) => {
      state = next;
    },
    stop: async () => {
      controller.abort();
      await running;
    },
  };
}

describe('HealthCache', () => {
  it('serves 500 requests from one computation, then one more per interval, with the age in the body', async () => {
    const t = setup();
    try {
      const first = await Promise.all(Array.from({ length: 500 }, () => t.cache.read()));
      assert.equal(t.computed(), 1, 'one computation for 500 concurrent reads');
      assert.ok(first.every((r) => r.healthy && r.ageMs === 0));

      assert.ok(
        first.every((r) => r === first[0]),
        'one served object for the reads of one millisecond (the HTTP fast path serialises it once)',
      );

      await t.clock.advance(400);
      const aged = await t.cache.read();
      assert.equal(aged.ageMs, 400);
      assert.notEqual(aged, first[0], 'a new object once the age changed');
      assert.ok(Object.isFrozen(aged), 'shared between readers, so no reader can change it for the others');
      assert.equal(t.computed(), 1);

      await t.clock.advance(600);
      await Promise.all(Array.from({ length: 500 }, () => t.cache.read()));
      assert.equal(t.computed(), 2, 'the background task computed the second report, not the reads');
      assert.equal((await t.cache.read()).ageMs, 0);

      await t.clock.advance(10 * INTERVAL_MS);
      assert.equal(t.computed(), 12, 'once per interval, whether or not anyone reads');
    } finally {
      await t.stop();
    }
  });

  it('recomputes at once, once, when the version changes', async () => {
    const t = setup();
    try {
      await t.cache.read();
      t.setState('stopping');
      const reads = await Promise.all(Array.from({ length: 50 }, () => t.cache.read()));
      assert.equal(t.computed(), 2);
      assert.ok(reads.every((r) => r.healthy === false && r.components.runtime?.detail === 'stopping'));
    } finally {
      await t.stop();
    }
  });

  it('a computation that hangs is never started twice; past 3 intervals the old report is served unhealthy', async () => {
    let release: () => void = () => {};
    let calls = 0;
    const t = setup({
      slow: () => {
        calls += 1;
        return calls === 1 ? Promise.resolve() : new Promise<void>((resolve) => (release = resolve));
      },
    });
    try {
      await t.cache.read();
      await t.clock.advance(INTERVAL_MS); // the second computation starts and hangs
      await t.clock.advance(3 * INTERVAL_MS);
      const stale = await t.cache.read();
      assert.equal(t.computed(), 2, 'no computation piles up behind the hung one');
      assert.equal(stale.healthy, false);
      assert.equal(stale.status, 'unhealthy');
      assert.equal(stale.ageMs, 4 * INTERVAL_MS);
      assert.match(String(stale.components['health-report']?.detail), /4000 ms old \(computed every 1000 ms\)/);
      release();
      await t.clock.flush();
      const fresh = await t.cache.read();
      assert.equal(fresh.healthy, true);
      assert.equal(fresh.ageMs, 0);
    } finally {
      release();
      await t.stop();
    }
  });

  it('a computation that throws is served as an unhealthy report naming the error', async () => {
    const t = setup({ fail: true });
    try {
      const report = await t.cache.read();
      assert.equal(report.healthy, false);
      assert.equal(report.components['health-report']?.detail, 'the health report failed: store ping timed out');
    } finally {
      await t.stop();
    }
  });

  it('rejects an interval that is not a positive number, naming it', () => {
    const clock = new VirtualClock();
    assert.throws(
      () => new HealthCache({ compute: async () => healthReport({}, 0), clock, intervalMs: 0 }),
      /expected intervalMs to be a finite number > 0, got 0/,
    );
  });
});
