/**
 * examples/self-tuning on `autoloop simulate` (the public simulation API,
 * the example's own files): the same load and dependency fault with and
 * without the decide loop, side by side (ticks run, items per hour, cycle
 * p99), and the example's bad rule, whose decision made health worse and
 * was rolled back within its verification window. The fault is placed
 * earlier and shorter than in faults.yaml so the run stays short.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load-config.ts';
import type { DecisionRecord } from '../src/recipes/decide/decide-loop.ts';
import type { LoopReport } from '../src/simulation/report.ts';
import { simulate } from '../src/simulation/simulation.ts';
import { MemoryStore } from '../src/storage/memory/memory-store.ts';

const EXAMPLE = fileURLToPath(new URL('../examples/self-tuning/', import.meta.url));
const MINUTE = 60_000;
/** 4x slower from 10 to 40 minutes into a 60-minute run. */
const FAULTS = {
  name: 'test',
  faults: [
    {
      kind: 'dependency' as const,
      at: 10 * MINUTE,
      for: { minMs: 30 * MINUTE, maxMs: 30 * MINUTE },
      target: 'fetch',
      slowdown: 4,
      failureRate: 0,
    },
  ],
};

async function run(file: string): Promise<{ fetch: LoopReport; journal: DecisionRecord[] }> {
  const config = await loadConfig(`${EXAMPLE}${file}`, { env: {} });
  const store = new MemoryStore();
  const { report } = await simulate({ config, durationMs: 60 * MINUTE, instances: 1, seed: 1, store, faults: FAULTS });
  const journal = (await store.journals.read('decide:autopilot', { limit: 10_000 })).map(
    (e) => e.value as DecisionRecord,
  );
  return { fetch: report.loops.find((l) => l.loop === 'fetch') ?? assert.fail('no fetch in the report'), journal };
}

describe('examples/self-tuning on simulate', { timeout: 600_000 }, () => {
  it('with decide, fetch keeps up through the slowdown; without, it falls behind', async () => {
    const without = await run('without-decide.yaml');
    const withDecide = await run('autoloop.yaml');
    const row = (name: string, r: LoopReport) =>
      `${name}: ticks run ${r.ticks.run}/${r.ticks.due} ${JSON.stringify(r.ticks.skippedByReason)}, items ${r.items.succeeded}, cycle p99 ${r.cycleMs.p99} ms`;
    const table = `${row('without decide', without.fetch)}\n${row('with decide', withDecide.fetch)}`;
    assert.ok(without.fetch.ticks.run < without.fetch.ticks.due * 0.9, `without decide it falls behind:\n${table}`);
    assert.ok(withDecide.fetch.ticks.run > without.fetch.ticks.run, table);
    assert.ok(withDecide.fetch.items.succeeded > without.fetch.items.succeeded, table);
    assert.equal(withDecide.fetch.items.lost, 0);

    const executed = withDecide.journal.filter((d) => d.result.kind === 'executed');
    const ups = executed.filter((d) => d.type === 'scale_up');
    const downs = executed.filter((d) => d.type === 'scale_down');
    assert.ok(ups.length > 0, 'concurrency raised during the slowdown');
    assert.ok(downs.length > 0, 'and lowered once latency recovered');
    assert.ok((downs.at(-1)?.at ?? 0) > (ups.at(-1)?.at ?? 0), 'the last change is a scale-down');
    for (const d of executed) {
      const change = (d.result as { change: { limit: number } }).change;
      assert.ok(change.limit >= 2 && change.limit <= 10, `within agents bounds: ${JSON.stringify(d.result)}`);
    }
    for (let i = 1; i < executed.length; i++) {
      const gap = (executed[i]?.at ?? 0) - (executed[i - 1]?.at ?? 0);
      assert.ok(gap >= 2 * MINUTE, `minInterval holds between executed decisions: ${gap} ms`);
    }
  });

  it('bad-rule.yaml: a decision that made health worse is rolled back within its window', async () => {
    const { journal } = await run('bad-rule.yaml');
    const rolled = journal.find((d) => d.result.kind === 'rolled-back');
    assert.ok(rolled, JSON.stringify(journal.map((d) => d.result.kind)));
    const of = (rolled.result as { of: string }).of;
    const original = journal.find((d) => d.id === of && d.result.kind === 'executed');
    assert.ok(original, `the decision ${of} was executed`);
    assert.equal(original.rule, 'wrong-way');
    assert.ok(rolled.at - original.at <= 3 * MINUTE, 'within the 2-minute window (checked at the next cycle)');
    assert.match(
      (rolled.result as { reason: string }).reason,
      /^health 0\.94 -> 0\.82 within 120000 ms: worse by more than 0\.05$/,
    );
    assert.deepEqual((rolled.result as { change: unknown }).change, {
      kind: 'concurrency',
      loop: 'fetch',
      previous: 2,
      limit: 4,
    });
  });
});
