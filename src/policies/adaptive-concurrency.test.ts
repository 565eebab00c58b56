import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../time/virtual-clock.ts';
import { AdaptiveConcurrency, type LimitChange } from './adaptive-concurrency.ts';

const KNEE = 8;

/**
 * `workers` callers sharing one dependency through the controller's limit.
 * The dependency is pure queueing past its knee: a call that starts with
 * `inflight` calls in flight (itself included) takes base * max(1, inflight / 8).
 */
function simulate(clock: VirtualClock, controller: AdaptiveConcurrency, workers = 32) {
  const sim = { baseMs: 100, stopped: false, calls: [] as Array<{ endedAt: number; ms: number }> };
  let inflight = 0;
  const waiting: Array<() => void> = [];
  const wake = () => {
    while (waiting.length > 0 && inflight < controller.limit) {
      inflight++;
      waiting.shift()?.();
    }
  };
  controller.onLimitChange(wake);
  const worker = async () => {
    while (!sim.stopped) {
      if (inflight < controller.limit && waiting.length === 0) inflight++;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      const ms = sim.baseMs * Math.max(1, inflight / KNEE);
      await clock.sleep(ms);
      inflight--;
      sim.calls.push({ endedAt: clock.monotonic(), ms });
      controller.record(ms);
      wake();
    }
  };
  for (let i = 0; i < workers; i++) void worker();
  return sim;
}

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(0.99 * sorted.length) - 1] as number;
}

function setup(options: Partial<ConstructorParameters<typeof AdaptiveConcurrency>[0]> = {}) {
  const clock = new VirtualClock();
  const controller = new AdaptiveConcurrency({ max: 50, ...options }, clock);
  const changes: Array<LimitChange & { atMs: number }> = [];
  controller.onLimitChange((change) => changes.push({ ...change, atMs: clock.monotonic() }));
  /** Records `n` calls of `ms` each, every one started after the previous record. */
  const feed = async (n: number, ms: number, ok = true) => {
    for (let i = 0; i < n; i++) {
      await clock.advance(ms + 1);
      controller.record(ms, ok);
    }
  };
  return { clock, controller, changes, feed };
}

/** Limits held during [fromMs, toMs]: the one in force at fromMs, and every change after. */
function limitsDuring(changes: Array<LimitChange & { atMs: number }>, fromMs: number, toMs: number): number[] {
  const before = changes.filter((c) => c.atMs <= fromMs).at(-1);
  const during = changes.filter((c) => c.atMs > fromMs && c.atMs <= toMs).map((c) => c.limit);
  return before ? [before.limit, ...during] : during;
}

describe('AdaptiveConcurrency against latency = base * max(1, inflight / 8)', () => {
  // The bounds below are derived in the header comment of adaptive-concurrency.ts: with tolerance 1.25
  // the limit decreases at floor(1.25 * 8) + 1 = 11 and lands at floor(0.7 * 11) = 7, so it cycles 7..11,
  // and no call starts with more than 11 in flight: latency <= base * 11 / 8 = 1.375 * base.
  it('converges to the knee: the limit cycles within 7..11 and p99 stays <= 1.375 x base', async () => {
    const { clock, controller, changes } = setup();
    const sim = simulate(clock, controller);
    await clock.advance(30_000);
    sim.stopped = true;
    const limits = limitsDuring(changes, 10_000, 30_000);
    assert.ok(Math.min(...limits) >= 7 && Math.max(...limits) <= 11, `limits ${limits.join(',')}`);
    const mean = limits.reduce((a, b) => a + b, 0) / limits.length;
    assert.ok(mean >= 8 && mean <= 10, `mean limit ${mean}`);
    const last = sim.calls.slice(-200).map((c) => c.ms);
    assert.ok(p99(last) <= 1.375 * 100, `p99 ${p99(last)}`);
    assert.equal(controller.baselineMs, 100);
  });

  it('lowers the limit within 2 s of a x4 latency step, then re-learns the baseline and returns to the knee', async () => {
    const { clock, controller, changes } = setup();
    const sim = simulate(clock, controller);
    await clock.advance(30_000);
    const stepAt = clock.monotonic();
    sim.baseMs = 400;
    await clock.advance(2_000);
    const reaction = changes.find((c) => c.atMs > stepAt && c.window.p50 >= 400);
    assert.ok(reaction, 'a decision on post-step samples within 2 s');
    assert.ok(reaction.limit < reaction.previous && reaction.reason === 'latency-gradient');
    assert.ok(reaction.atMs - stepAt <= 2_000, `reacted after ${reaction.atMs - stepAt} ms`);

    await clock.advance(58_000);
    sim.stopped = true;
    assert.equal(controller.baselineMs, 400, 're-learned at min');
    const limits = limitsDuring(changes, stepAt + 30_000, stepAt + 60_000);
    assert.ok(Math.min(...limits) >= 7 && Math.max(...limits) <= 11, `limits ${limits.join(',')}`);
    const last = sim.calls.slice(-200).map((c) => c.ms);
    assert.ok(p99(last) <= 1.375 * 400, `p99 ${p99(last)}`);
  });
});

describe('AdaptiveConcurrency decisions', () => {
  it('starts at max by default, with no change to announce', () => {
    const { controller, changes } = setup({ min: 2, max: 10 });
    assert.equal(controller.limit, 10);
    assert.equal(changes.length, 0);
  });

  it('starting at max, it cuts only on evidence: steady latency holds it, sustained high latency cuts it', async () => {
    const { controller, changes, feed } = setup({ max: 10 });
    for (let i = 0; i < 5; i++) await feed(10, 2_000);
    assert.equal(controller.limit, 10, 'steady latency below the bars: no cut');
    assert.deepEqual(
      changes.map((c) => [c.previous, c.limit, c.reason]),
      [
        [10, 3, 'probe'],
        [3, 10, 'recovered'],
      ],
      'only the one early window at min that measures the no-load latency',
    );
    await feed(10, 9_000); // p95 above the 8 s bar
    assert.deepEqual([controller.limit, changes.at(-1)?.reason], [5, 'p95-bar']);
    await feed(10, 9_000);
    assert.deepEqual([controller.limit, changes.at(-1)?.reason], [3, 'p95-bar'], 'never below min');
  });

  it('after 2 decisions, one window at min re-learns a baseline measured under load, then the limit resumes', async () => {
    const { controller, changes, feed } = setup({ max: 20 });
    await feed(10, 250); // cold and loaded: baseline 250
    await feed(10, 250);
    assert.equal(controller.limit, 3, 'the probe');
    await feed(10, 100); // the no-load latency
    assert.equal(controller.baselineMs, 100);
    assert.equal(controller.limit, 20, 'resumed');
    await feed(10, 250); // now read as queueing
    assert.deepEqual(changes.at(-1)?.reason, 'latency-gradient');
    assert.equal(controller.limit, 14);
  });

  it('restore starts from a remembered limit (clamped), unless a decision came first', async () => {
    const { controller, changes, feed } = setup({ min: 3, max: 10 });
    assert.equal(controller.restore(6), true);
    assert.deepEqual(
      changes.map((c) => [c.previous, c.limit, c.reason]),
      [[10, 6, 'restored']],
    );
    const clamped = setup({ min: 3, max: 10 });
    assert.equal(clamped.controller.restore(50), true);
    assert.equal(clamped.controller.limit, 10, 'a remembered limit above max is max; no change to announce');
    assert.equal(clamped.changes.length, 0);
    await feed(10, 100);
    assert.equal(controller.limit, 7);
    assert.equal(controller.restore(4), false, "this run's own evidence wins");
    assert.equal(controller.limit, 7);
  });

  it('from `initial`, decides once per full window of fresh samples', async () => {
    const { controller, changes, feed } = setup({ min: 2, initial: 2 });
    assert.equal(controller.limit, 2);
    await feed(9, 100);
    assert.equal(changes.length, 0);
    await feed(1, 100);
    assert.deepEqual(
      changes.map((c) => [c.previous, c.limit, c.reason]),
      [[2, 3, 'recovered']],
    );
  });

  it('ignores samples from calls that started before the last change', async () => {
    const { clock, controller, feed } = setup({ initial: 3 });
    await feed(10, 100); // 3 -> 4 at this instant
    await clock.advance(50);
    for (let i = 0; i < 20; i++) controller.record(5_000); // started 4950 ms ago: under limit 3
    assert.equal(controller.limit, 4);
    assert.equal(controller.recent().p99, 5_000, 'they still count for the recent window');
  });

  it('halves on an error rate above the bar and on a p95 above the bar; never below min', async () => {
    const { controller, changes, feed } = setup({ min: 1, initial: 1, baselineProbe: false });
    for (let i = 0; i < 9; i++) await feed(10, 100); // climbs 1 -> 10
    assert.equal(controller.limit, 10);
    await feed(7, 100);
    await feed(3, 100, false);
    assert.deepEqual([controller.limit, changes.at(-1)?.reason], [5, 'error-rate']);
    await feed(9, 100);
    await feed(1, 8_001);
    assert.deepEqual([controller.limit, changes.at(-1)?.reason], [2, 'p95-bar']);
    await feed(10, 8_001);
    await feed(10, 8_001);
    assert.equal(controller.limit, 1);
  });

  it('holds at max without emitting', async () => {
    const { controller, changes, feed } = setup({ min: 3, max: 4, initial: 3, baselineProbe: false });
    for (let i = 0; i < 5; i++) await feed(10, 100);
    assert.equal(controller.limit, 4);
    assert.equal(changes.length, 1);
  });

  it('timeoutFor extends the base timeout to 1.5 x recent p99, up to the cap', async () => {
    const { controller, feed } = setup();
    assert.equal(controller.timeoutFor(10_000), 10_000);
    await feed(10, 2_000);
    assert.equal(controller.timeoutFor(10_000), 10_000);
    await feed(10, 8_000);
    assert.equal(controller.timeoutFor(10_000), 12_000);
    await feed(10, 11_000);
    assert.equal(controller.timeoutFor(10_000), 15_000, 'capped at 1.5 x base by default');
    assert.equal(controller.timeoutFor(10_000, 20_000), 16_500);
  });

  it('shouldSkipCycle: true on a full window with p99 above the bar, then only on fresh evidence', async () => {
    const { controller, feed } = setup();
    await feed(9, 9_500);
    assert.equal(controller.shouldSkipCycle(), false, 'window not full');
    await feed(1, 9_500);
    assert.equal(controller.shouldSkipCycle(), true);
    assert.equal(controller.shouldSkipCycle(), false, 'the skipped cycle recorded nothing new');
    await feed(10, 9_500);
    assert.equal(controller.shouldSkipCycle(), true);
    await feed(10, 9_000);
    assert.equal(controller.shouldSkipCycle(), false, 'at the bar is not above it');
  });

  it('a disposed listener hears nothing more', async () => {
    const { controller, feed } = setup({ initial: 3 });
    const seen: number[] = [];
    const subscription = controller.onLimitChange((c) => seen.push(c.limit));
    await feed(10, 100);
    subscription.dispose();
    await feed(10, 100);
    assert.deepEqual(seen, [4]);
  });

  it('rejects bad options with the message template', () => {
    const clock = new VirtualClock();
    assert.throws(
      () => new AdaptiveConcurrency({ max: 2 }, clock),
      /Expected `max` to be an integer >= 3, got `2` \(number\)/,
    );
    assert.throws(
      () => new AdaptiveConcurrency({ max: 10, tolerance: 1 }, clock),
      /Expected `tolerance` to be a finite number > 1, got `1` \(number\)/,
    );
    assert.throws(
      () => new AdaptiveConcurrency({ max: 10, errorRateBar: 1 }, clock),
      /Expected `errorRateBar` to be a finite number >= 0 and < 1, got `1` \(number\)/,
    );
    assert.throws(
      () => new AdaptiveConcurrency({ max: 10, initial: 11 }, clock),
      /Expected `initial` to be an integer >= 3 and <= 10, got `11` \(number\)/,
    );
  });
});
