import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cron } from 'croner';
import { cronTrigger, intervalTrigger, manualTrigger } from './trigger.ts';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('triggers', () => {
  it('cron with seconds gives the next matching second, strictly after', () => {
    const every10s = cronTrigger('*/10 * * * * *', 'UTC');
    assert.equal(iso(every10s.next(at('2026-01-01T00:00:00.000Z'))), '2026-01-01T00:00:10.000Z');
    assert.equal(iso(every10s.next(at('2026-01-01T00:00:09.999Z'))), '2026-01-01T00:00:10.000Z');
  });

  it('cron honours the time zone, across a DST change', () => {
    const nineAmBerlin = cronTrigger('0 0 9 * * *', 'Europe/Berlin');
    // Winter: UTC+1, summer (after 29 March 2026): UTC+2.
    assert.equal(iso(nineAmBerlin.next(at('2026-03-28T12:00:00Z'))), '2026-03-29T07:00:00.000Z');
    assert.equal(iso(nineAmBerlin.next(at('2026-03-27T12:00:00Z'))), '2026-03-28T08:00:00.000Z');
  });

  it('intervals align to multiples since the epoch, so every process agrees on tick times', () => {
    const every30s = intervalTrigger(30_000);
    assert.equal(iso(every30s.next(at('2026-01-01T00:00:07Z'))), '2026-01-01T00:00:30.000Z');
    assert.equal(iso(every30s.next(at('2026-01-01T00:00:30Z'))), '2026-01-01T00:01:00.000Z');
  });

  it('manual never fires', () => {
    assert.equal(manualTrigger.next(0), undefined);
  });
});

describe('cron trigger window', () => {
  it('gives what croner gives for any question, forwards, backwards and across DST', () => {
    for (const [expression, timezone] of [
      ['*/10 * * * * *', 'UTC'],
      ['*/7 * * * * *', 'UTC'],
      ['0 30 9 * * 1-5', 'Etc/UTC'],
      ['30 1,2,3 * * *', 'Europe/Berlin'],
      ['0 0 9 29 2 *', 'UTC'],
    ] as const) {
      const trigger = cronTrigger(expression, timezone);
      const reference = new Cron(expression, { paused: true, timezone, mode: 'auto' });
      const expected = (ms: number) => reference.nextRun(new Date(ms))?.getTime();
      let t = at('2026-03-28T23:59:55.500Z');
      // Walking tick to tick (the scheduler's way), then jumps forwards and back (missed ticks, a new process).
      for (let i = 0; i < 200; i++) {
        const next = trigger.next(t);
        assert.equal(next, expected(t), `${expression} after ${iso(t)}`);
        t = next ?? t;
      }
      for (const q of [
        t - 86_400_000,
        t + 3 * 86_400_000 + 123,
        t - 1,
        at('2026-10-25T00:59:59Z'),
        at('2027-02-28T00:00:00Z'),
      ]) {
        assert.equal(trigger.next(q), expected(q), `${expression} after ${iso(q)}`);
        assert.equal(trigger.next(q + 999), expected(q + 999), `${expression} after ${iso(q + 999)}`);
      }
    }
  });
});
