import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineLoop } from '../src/config/define-loop.ts';
import { RateLimitedError } from '../src/core/errors.ts';
import { maxInAnyWindow } from '../src/policies/window-log.ts';
import { createRuntime } from '../src/runtime/runtime.ts';
import { createLoopHarness } from '../src/testing/loop-harness.ts';
import { VirtualClock } from '../src/time/virtual-clock.ts';

const T0 = Date.UTC(2026, 0, 1);
const reasons = async (h: Awaited<ReturnType<typeof createLoopHarness>>) =>
  (await h.cycles()).map((c) => (c.outcome.kind === 'skipped' ? c.outcome.reason.split(':')[0] : c.outcome.kind));

describe('dependencies: breaker', () => {
  it('opens after the failure threshold, skips cycles with the reason, half-opens after its timeout, closes on successes', async () => {
    let up = false;
    const loop = defineLoop({
      name: 'calls',
      trigger: { cron: '*/10 * * * * *' },
      observe: () => ['a', 'b'],
      act: () => {
        if (!up) throw new Error('503 from svc');
        return 'ok';
      },
      policies: { uses: ['svc'], concurrency: 1 },
    });
    const h = await createLoopHarness([loop], {
      clock: new VirtualClock({ now: T0 }),
      dependencies: {
        svc: { breaker: { failureThreshold: 3, recoveryTimeout: '30s', halfOpenMaxCalls: 2, successThreshold: 2 } },
      },
    });
    await h.advance(20_000); // tick 10: 2 failures; tick 20: 1 failure opens it, then the 2nd item is short-circuited
    const breaker = h.runtime.dependencies.get('svc')?.breaker;
    assert.equal(breaker?.state, 'open');
    await h.advance(20_000); // ticks 30, 40: skipped, the breaker is open
    up = true;
    await h.advance(20_000); // tick 50: 30 s after it opened at 20 -> half-open trials succeed -> closed; tick 60 ok
    assert.deepEqual(await reasons(h), ['failed', 'failed', 'breaker', 'breaker', 'ok', 'ok']);
    const [, second] = await h.cycles();
    const items = await h.store.cycles.items(second?.id ?? '');
    assert.deepEqual(items.map((i) => i.error?.name).sort(), ['BreakerOpenError', 'Error']);
    assert.equal(breaker?.state, 'closed');
    const text = await h.runtime.metrics?.registry.metrics();
    assert.match(text ?? '', /autoloop_breaker_state\{breaker="svc"\} 0/);
    assert.match(text ?? '', /autoloop_breaker_transitions_total\{breaker="svc",to="open"\} 1/);
    assert.match(text ?? '', /autoloop_cycles_skipped_total\{loop="calls",reason="breaker"\} 2/);
    await h.stop();
  });

  it('readiness is 503-worthy while a breaker is open', async () => {
    const loop = defineLoop({
      name: 'x',
      trigger: { manual: true },
      observe: () => ['a'],
      act: () => {
        throw new Error('down');
      },
      policies: { uses: ['svc'] },
    });
    const h = await createLoopHarness([loop], { dependencies: { svc: { breaker: { failureThreshold: 1 } } } });
    assert.equal((await h.runtime.ready()).healthy, true);
    await h.runCycle();
    const ready = await h.runtime.ready();
    assert.equal(ready.healthy, false);
    assert.equal(ready.components['breaker:svc']?.detail, 'open');
    await h.stop();
  });
});

describe('dependencies: rate limit', () => {
  it('never exceeds the bucket, shared by loops and processes through the store', async () => {
    const starts: number[] = [];
    const loop = defineLoop({
      name: 'rl',
      trigger: { manual: true },
      observe: () => Array.from({ length: 12 }, (_, i) => `k${i}`),
      act: (_item, { clock }) => void starts.push(clock.now() - T0),
      policies: { uses: ['api'], concurrency: 12 },
    });
    const h = await createLoopHarness([loop], {
      clock: new VirtualClock({ now: T0 }),
      dependencies: { api: { rateLimit: { requests: 5, per: '1s' } } },
    });
    const record = await h.runCycle();
    assert.equal(record.counts.succeeded, 12);
    assert.equal(starts.filter((t) => t === 0).length, 5, 'an idle limit: 5 at once');
    // The window bound: at most 5 calls in any 1 s (counted over 1 s + 5% margin, so 5 more at 1,050 ms).
    assert.ok(maxInAnyWindow(starts, 1_000) <= 5, `${maxInAnyWindow(starts, 1_000)} calls in one second`);
    assert.equal(Math.max(...starts), 2_100, 'the 11th and 12th calls wait for the second window');
    await h.stop();
  });

  it('a RateLimitedError (429 with Retry-After) pauses the bucket for every caller', async () => {
    let calls = 0;
    const starts: number[] = [];
    const loop = defineLoop({
      name: 'r429',
      trigger: { manual: true },
      observe: () => ['a', 'b', 'c'],
      act: (_item, { clock }) => {
        starts.push(clock.now() - T0);
        calls++;
        if (calls === 1) throw new RateLimitedError('429 Too Many Requests', 5_000);
        return 'ok';
      },
      policies: { uses: ['api'], concurrency: 1, retry: { attempts: 2, backoff: '10ms' } },
    });
    const h = await createLoopHarness([loop], {
      clock: new VirtualClock({ now: T0 }),
      dependencies: { api: { rateLimit: { requests: 100, per: '1m' } } },
    });
    const record = await h.runCycle();
    assert.equal(record.outcome.kind, 'ok');
    assert.equal(starts[0], 0);
    assert.ok((starts[1] ?? 0) >= 5_000, `the next call waits out Retry-After: ${starts}`);
    await h.stop();
  });
});

describe('backpressure and adaptive concurrency', () => {
  it('after 3 overrunning cycles the loop cools down for 2 ticks, counted and recorded', async () => {
    const loop = defineLoop({
      name: 'slow',
      trigger: { cron: '*/10 * * * * *', overlap: 'queue-one' },
      observe: () => ['x'],
      act: (_i, { clock, signal }) => clock.sleep(11_000, signal),
      policies: { timeout: '1m', backpressure: { after: 3, cooldown: 2 } },
    });
    const h = await createLoopHarness([loop], { clock: new VirtualClock({ now: T0 }) });
    await h.advance(80_000);
    const kinds = await reasons(h);
    assert.ok(kinds.filter((k) => k === 'backpressure').length >= 2, kinds.join(','));
    const text = await h.runtime.metrics?.registry.metrics();
    assert.match(text ?? '', /autoloop_backpressure_cooldowns_total\{loop="slow"\} [1-9]/);
    await h.stop(60_000);
  });

  it('adaptive concurrency starts at max and moves the pool limit (its one probe at min), reported as a metric', async () => {
    const loop = defineLoop({
      name: 'ad',
      trigger: { manual: true },
      observe: () => Array.from({ length: 60 }, (_, i) => `k${i}`),
      act: (_i, { clock, signal }) => clock.sleep(100, signal),
      policies: { concurrency: 10, adaptive: { min: 2, window: 5 } },
    });
    const h = await createLoopHarness([loop]);
    const runner = h.runtime.loop('ad');
    assert.equal(runner.pool.concurrency, 10, 'starts at max, cuts on evidence');
    await h.runCycle();
    const limits = h.events.flatMap((e) => (e.type === 'loop.concurrency' ? [e.data.limit] : []));
    assert.ok(limits.includes(2), `the pool went to min for the baseline probe: ${limits}`);
    assert.equal(runner.pool.concurrency, 10, `back at max while latency stays flat: ${limits}`);
    const text = await h.runtime.metrics?.registry.metrics();
    assert.match(text ?? '', new RegExp(`autoloop_adaptive_concurrency\\{loop="ad"\\} ${runner.pool.concurrency}`));
    // Every attempt took 100 ms of virtual time: all 60 in the bucket up to 0.1 s, none below.
    assert.match(text ?? '', /autoloop_item_attempt_duration_seconds_bucket\{le="0.05",loop="ad"\} 0\n/);
    assert.match(text ?? '', /autoloop_item_attempt_duration_seconds_bucket\{le="0.1",loop="ad"\} 60\n/);
    await h.stop();
  });

  it('a loop using an undeclared dependency is refused, naming the declared ones', () => {
    const loop = defineLoop({ name: 'u', trigger: { manual: true }, act: () => null, policies: { uses: ['nope'] } });
    assert.throws(
      () => createRuntime({ loops: [loop], dependencies: { svc: {} } }),
      /loop "u" uses dependency "nope", which is not declared; declared: svc/,
    );
  });
});
