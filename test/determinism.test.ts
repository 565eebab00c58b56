import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineLoop } from '../src/config/define-loop.ts';
import { createLoopHarness } from '../src/testing/loop-harness.ts';
import { VirtualClock } from '../src/time/virtual-clock.ts';

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);
const HEX16 = /^[0-9a-f]{16}$/;

/**
 * One scenario: an interval loop fans out five items per cycle; how long each
 * attempt takes and whether it fails are drawn from the harness's entropy, as
 * is the backoff jitter of the retries. A manual cycle runs between ticks.
 * Everything a run records is returned as JSON, to be compared byte for byte.
 */
async function scenario(seed: number) {
  let draw = (): number => {
    throw new Error('act ran before the harness handed out its entropy');
  };
  const loop = defineLoop({
    name: 'fanout',
    trigger: { interval: '10s' },
    observe: () => ['a', 'b', 'c', 'd', 'e'],
    act: async (item, { clock, signal, attempt }) => {
      await clock.sleep(Math.floor(draw() * 3_000), signal);
      if (draw() < 0.45) throw new Error(`${item.key} flaked on attempt ${attempt}`);
      return { key: item.key, roll: draw() };
    },
    policies: { concurrency: 2, timeout: '1m', retry: { attempts: 3, backoff: '1s', maxBackoff: '5s' } },
  });
  const h = await createLoopHarness([loop], { seed, clock: new VirtualClock({ now: T0 }) });
  draw = () => h.entropy.random();

  await h.advance(10_500); // the first tick's items are queued or running
  const queuedIds = (await h.store.queue.list('fanout')).map((q) => q.id);
  await h.advance(24_500);
  const manual = await h.runCycle();
  await h.advance(30_000);
  await h.stop(60_000);

  const cycles = await h.cycles();
  const items = await Promise.all(cycles.map((c) => h.store.cycles.items(c.id)));
  const log = await h.store.events.after(0, { limit: 10_000 });
  return {
    owner: h.runtime.owner,
    manualId: manual.id,
    queuedIds,
    cycles,
    items,
    log,
    json: {
      log: JSON.stringify(log),
      bus: JSON.stringify(h.events),
      records: JSON.stringify({ cycles, items, queuedIds }),
    },
  };
}

describe('reproducible runs: ids and randomness come from the seeded entropy', () => {
  it('the same seed gives byte-identical event logs, cycle records and queue ids; another seed does not', async () => {
    const first = await scenario(7);
    const again = await scenario(7);
    const other = await scenario(8);

    // The scenario exercises what must be reproducible: generated ids and random outcomes.
    assert.match(first.owner, /^harness:1:[0-9a-f]{16}$/);
    assert.ok(first.cycles.length >= 6, `cycles: ${first.cycles.length}`);
    assert.ok(first.cycles.some((c) => c.trigger === 'manual' && c.id === first.manualId));
    assert.ok(first.cycles.every((c) => HEX16.test(c.id) && c.owner === first.owner));
    assert.equal(new Set(first.cycles.map((c) => c.id)).size, first.cycles.length, 'cycle ids are unique');
    assert.ok(first.queuedIds.length > 0 && first.queuedIds.every((id) => HEX16.test(id)), 'memory store item ids');
    const types = new Set(first.log.map((e) => e.type));
    for (const type of ['runtime.started', 'cycle.started', 'item.retried', 'item.succeeded', 'cycle.finished']) {
      assert.ok(types.has(type), `the log has ${type}`);
    }
    const outcomes = new Set(first.items.flat().map((r) => r.status));
    assert.ok(outcomes.has('succeeded'), 'some items succeeded');
    const delays = first.log
      .filter((e) => e.type === 'item.retried')
      .map((e) => (e.data as { delayMs: number }).delayMs);
    assert.ok(new Set(delays).size > 1, `backoff jitter varies: ${delays.join(', ')}`);

    assert.equal(again.json.log, first.json.log, 'store event log');
    assert.equal(again.json.bus, first.json.bus, 'harness (bus) events');
    assert.equal(again.json.records, first.json.records, 'cycle records, item results, queued item ids');

    assert.notEqual(other.owner, first.owner);
    assert.notEqual(other.json.log, first.json.log);
    assert.notEqual(other.json.bus, first.json.bus);
    assert.notEqual(other.json.records, first.json.records);
  });
});
