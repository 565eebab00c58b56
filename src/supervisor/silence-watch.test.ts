import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../time/virtual-clock.ts';
import { SilenceWatch } from './silence-watch.ts';

describe('SilenceWatch (virtual clock)', () => {
  it('a service that never prints is hung silentFor after the start', async () => {
    const clock = new VirtualClock();
    const watch = new SilenceWatch(clock, 300_000);
    let hung: number | null | undefined;
    void watch.watch(new AbortController().signal).then((ms) => {
      hung = ms;
    });
    await clock.advance(299_999);
    assert.equal(hung, undefined, 'not yet at 299.999 s');
    await clock.advance(1);
    assert.equal(hung, 300_000);
  });

  it('output starts the silence over; it is hung silentFor after the last output', async () => {
    const clock = new VirtualClock();
    const watch = new SilenceWatch(clock, 60_000);
    let hungAt: number | null = null;
    void watch.watch(new AbortController().signal).then(() => {
      hungAt = clock.monotonic();
    });
    const start = clock.monotonic();
    for (let i = 0; i < 10; i++) {
      await clock.advance(50_000);
      watch.heard();
    }
    assert.equal(hungAt, null, 'output every 50 s keeps a 60 s watch quiet for 500 s');
    await clock.advance(59_999);
    assert.equal(hungAt, null);
    await clock.advance(1);
    assert.equal(hungAt, start + 560_000);
  });

  it('resolves null when the run ends first, and leaves no timer behind', async () => {
    const clock = new VirtualClock();
    const watch = new SilenceWatch(clock, 60_000);
    const run = new AbortController();
    const result = watch.watch(run.signal);
    await clock.advance(10_000);
    run.abort();
    assert.equal(await result, null);
    assert.equal(clock.pendingTimers, 0);
  });
});
