import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../time/virtual-clock.ts';
import { AttemptSet } from './attempt.ts';

describe('Attempt', () => {
  it('ends at its deadline even when the work ignores its signal, and the signal reports it', async () => {
    const clock = new VirtualClock();
    const cycle = new AbortController();
    const set = new AttemptSet(cycle.signal);
    const attempt = set.open();
    const run = attempt.run(
      () => new Promise(() => {}),
      clock,
      500,
      () => new Error('late'),
    );
    const rejected = assert.rejects(run, /late/);
    await clock.advance(500);
    await rejected;
    assert.equal(attempt.signal.aborted, true, 'a signal read after the deadline is already aborted');
    assert.equal(clock.pendingTimers, 0);
    set.dispose();
  });

  it('a cycle abort reaches every open attempt, and later ones start aborted', async () => {
    const clock = new VirtualClock();
    const cycle = new AbortController();
    const set = new AttemptSet(cycle.signal);
    const a = set.open();
    const seen: unknown[] = [];
    a.signal.addEventListener('abort', () => seen.push(a.signal.reason));
    const run = a.run(
      () => clock.sleep(10_000),
      clock,
      60_000,
      () => new Error('timeout'),
    );
    cycle.abort(new Error('shutdown'));
    await assert.rejects(run, /shutdown/);
    assert.equal(seen.length, 1);
    const b = set.open();
    assert.equal(b.aborted, true);
    await assert.rejects(
      b.run(
        () => 1,
        clock,
        1000,
        () => new Error('t'),
      ),
      /shutdown/,
    );
    set.dispose();
  });

  it('a settled attempt leaves no timer behind', async () => {
    const clock = new VirtualClock();
    const set = new AttemptSet(new AbortController().signal);
    assert.equal(
      await set.open().run(
        () => 42,
        clock,
        1000,
        () => new Error('t'),
      ),
      42,
    );
    assert.equal(clock.pendingTimers, 0);
    set.dispose();
  });
});
