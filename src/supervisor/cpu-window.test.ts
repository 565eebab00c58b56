import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CpuWindow } from './cpu-window.ts';

/** Feeds one sample a second at `percent` of a core for `seconds`; returns the readings. */
function feed(cpu: CpuWindow, state: { at: number; cpu: number }, percent: number, seconds: number) {
  const out = [];
  for (let i = 0; i < seconds; i++) {
    state.at += 1_000;
    state.cpu += percent / 100;
    out.push(cpu.observe(state.at, state.cpu));
  }
  return out;
}

describe('CpuWindow', () => {
  it('reports nothing until the samples span the window, then the average in percent of one core', () => {
    const cpu = new CpuWindow({ percent: 90, windowMs: 10_000, restart: false });
    const state = { at: 0, cpu: 0 };
    cpu.observe(0, 0);
    const readings = feed(cpu, state, 50, 10);
    assert.deepEqual(
      readings.slice(0, 9).map((r) => r.percent),
      Array(9).fill(null),
    );
    assert.ok(Math.abs((readings[9]?.percent ?? 0) - 50) < 1e-9);
  });

  it('crosses over once when the window average goes above the limit, under once when it falls back', () => {
    const cpu = new CpuWindow({ percent: 85, windowMs: 10_000, restart: false });
    const state = { at: 0, cpu: 0 };
    cpu.observe(0, 0);
    const idle = feed(cpu, state, 10, 10);
    assert.ok(idle.every((r) => r.crossed === null));
    // A 10 s window at 10 %, then 100 %: 8 busy seconds average 82 %, 9 average 91 % (> 85 %).
    const busy = feed(cpu, state, 100, 20);
    const over = busy.findIndex((r) => r.crossed === 'over');
    assert.equal(over, 8, 'on the 9th busy second');
    assert.equal(busy.filter((r) => r.crossed !== null).length, 1, 'one warning for one excursion');
    const calm = feed(cpu, state, 0, 20);
    assert.equal(
      calm.findIndex((r) => r.crossed === 'under'),
      1,
      '1 quiet second leaves 90 %, 2 pull it to 80 %',
    );
    assert.equal(calm.filter((r) => r.crossed !== null).length, 1);
    const again = feed(cpu, state, 100, 20);
    assert.equal(again.filter((r) => r.crossed === 'over').length, 1, 'a second excursion warns again');
  });

  it('a drop in cumulative CPU (a child exited) starts the window over instead of reading negative', () => {
    const cpu = new CpuWindow({ percent: 50, windowMs: 3_000, restart: false });
    const state = { at: 0, cpu: 100 };
    cpu.observe(0, 100);
    feed(cpu, state, 80, 3);
    assert.ok((cpu.percent ?? 0) > 79);
    state.cpu = 10;
    state.at += 1_000;
    assert.deepEqual(cpu.observe(state.at, state.cpu), { percent: null, crossed: null });
    const after = feed(cpu, state, 20, 3);
    assert.equal(after[2]?.crossed, 'under');
    assert.ok(Math.abs((after[2]?.percent ?? 0) - 20) < 1e-9);
  });
});
