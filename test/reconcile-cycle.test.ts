/**
 * The reconcile recipe on the virtual clock: a cycle collects its gaps by
 * priority; the budget stops a cycle (running collections aborted with the
 * reason, the rest skipped) and the rest runs next cycle; the report is
 * refreshed after each orchestration; the queue threshold starts cycles;
 * per-source concurrency holds; a key that turned up meanwhile is not
 * collected again; expected durations order the work longest first.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoopDefinition } from '../src/core/loop.ts';
import type { Collector } from '../src/recipes/reconcile/collector.ts';
import { resolveCoverage } from '../src/recipes/reconcile/coverage-spec.ts';
import { CollectionDurations, MAX_KEYS } from '../src/recipes/reconcile/durations.ts';
import { MemoryInventory } from '../src/recipes/reconcile/memory-inventory.ts';
import type { ReconcileApi } from '../src/recipes/reconcile/recipe.ts';
import { ReconcileLoop, type ReconcileLoopOptions } from '../src/recipes/reconcile/reconcile-loop.ts';
import { createLoopHarness } from '../src/testing/loop-harness.ts';
import { VirtualClock } from '../src/time/virtual-clock.ts';

const START = Date.parse('2024-03-15T12:00:00Z');
const MIN = 60_000;

interface Setup {
  clock: VirtualClock;
  inventory: MemoryInventory;
  collector?: Collector;
  options?: Partial<ReconcileLoopOptions>;
  sources?: Record<string, unknown>;
}

/** A reconcile loop over a memory inventory; the default collector takes `takes(key)` of virtual time, then writes. */
function reconcileLoop(s: Setup, takes: (key: string) => number = () => 10 * MIN): ReconcileLoop {
  const collector: Collector =
    s.collector ??
    (async ({ gap, signal }) => {
      await s.clock.sleep(takes(gap.key), signal);
      s.inventory.put(gap.key, 100);
      return { wrote: gap.key };
    });
  return new ReconcileLoop({
    name: 'collect',
    trigger: { manual: true },
    inventory: s.inventory,
    coverage: resolveCoverage(
      {
        sources: s.sources ?? { a: { key: 'a/{date}.json', dates: { from: '-4d', to: 'today' } } },
        priorities: [
          { within: '1d', priority: 'critical' },
          { within: '3d', priority: 'high' },
        ],
      },
      { file: 'test', prefix: [], dir: '.' },
    ),
    collector,
    budgetMs: null,
    sourceConcurrency: () => 1,
    maxItems: 1_000,
    reportFile: null,
    policies: { timeout: '1h', concurrency: 4, retry: { attempts: 1 } },
    defaultTaskMs: MIN,
    threshold: null,
    maxInventoryAgeMs: 24 * 3_600_000,
    ...s.options,
  });
}

function asLoop(loop: ReconcileLoop): LoopDefinition {
  return { ...(loop.definition as LoopDefinition), recipe: 'reconcile' };
}

async function harnessOf(loop: ReconcileLoop, clock: VirtualClock, schedule = false) {
  const h = await createLoopHarness([asLoop(loop)], { clock, schedule });
  const api = h.runtime.recipe<ReconcileApi>('reconcile') as ReconcileApi;
  return { h, api };
}

describe('reconcile: a cycle on the virtual clock', () => {
  it('collects every gap, critical first, and reconciles again after the orchestration', async () => {
    const clock = new VirtualClock({ now: START });
    const inventory = new MemoryInventory({ now: () => clock.now() });
    inventory.put('a/2024-03-12.json', 100);
    const order: string[] = [];
    const loop = reconcileLoop({
      clock,
      inventory,
      collector: async ({ gap }) => {
        order.push(`${gap.priority}:${gap.key}`);
        inventory.put(gap.key, 100);
      },
    });
    const { h, api } = await harnessOf(loop, clock);
    const record = await h.runCycle();
    assert.equal(record.outcome.kind, 'ok');
    assert.deepEqual(record.counts, { planned: 4, succeeded: 4, failed: 0, skipped: 0 });
    assert.deepEqual(order, [
      'critical:a/2024-03-15.json',
      'high:a/2024-03-14.json',
      'high:a/2024-03-13.json',
      'low:a/2024-03-11.json',
    ]);
    await api.idle();
    const report = loop.report;
    assert.equal(report?.trigger, 'after orchestration');
    assert.equal(report?.total, 0);
    assert.equal(report?.coverage.ratio, 1);
    assert.equal(inventory.scans, 2, 'one scan in observe, one after the orchestration');
    const stored = await h.store.documents.get('reconcile', 'collect/report');
    assert.equal((stored?.value as { total: number } | undefined)?.total, 0);
    const history = await h.store.journals.read('reconcile/collect/reports');
    assert.deepEqual(
      history.map((e) => (e.value as { total: number }).total),
      [4, 0],
    );
    await h.stop();
  });

  it('the budget aborts the running collection with the reason, skips the rest; the next cycles finish them', async () => {
    const clock = new VirtualClock({ now: START });
    const inventory = new MemoryInventory({ now: () => clock.now() });
    const loop = reconcileLoop({ clock, inventory, options: { budgetMs: 25 * MIN } });
    const { h, api } = await harnessOf(loop, clock);

    const first = await h.runCycle();
    assert.deepEqual(first.counts, { planned: 5, succeeded: 2, failed: 1, skipped: 2 });
    const items = await h.store.cycles.items(first.id);
    const failed = items.find((i) => i.status === 'failed');
    assert.equal(failed?.error?.name, 'BudgetExhaustedError');
    assert.match(
      failed?.error?.message ?? '',
      /aborted after 5m: the cycle's budget of 25m ran out; the gap stays for the next cycle/,
    );
    const skipped = items.filter((i) => i.status === 'skipped');
    assert.equal(skipped.length, 2);
    for (const s of skipped) assert.match(s.error?.message ?? '', /not started: the cycle's budget of 25m ran out/);
    assert.equal(failed?.attempts, 1, 'a budget abort is not retried');
    await api.idle();
    assert.equal(loop.report?.total, 3, 'the report after orchestration still holds the 3 gaps');

    const second = await h.runCycle();
    assert.deepEqual(second.counts, { planned: 3, succeeded: 2, failed: 1, skipped: 0 });
    const third = await h.runCycle();
    assert.deepEqual(third.counts, { planned: 1, succeeded: 1, failed: 0, skipped: 0 });
    await api.idle();
    assert.equal(loop.report?.total, 0);
    assert.equal(inventory.keys().length, 5);
    await h.stop();
  });

  it('a key that turned up meanwhile is not collected again (skipped as present)', async () => {
    const clock = new VirtualClock({ now: START });
    const inventory = new MemoryInventory({ now: () => clock.now() });
    let collected = 0;
    const loop = reconcileLoop({
      clock,
      inventory,
      sources: { a: { key: 'a/{value}', values: ['x', 'y'] } },
      collector: async ({ gap }) => {
        collected++;
        // The first collection also writes the other key, as a collector that fetches a batch would.
        inventory.put(gap.key, 100);
        inventory.put(gap.key === 'a/x' ? 'a/y' : 'a/x', 100);
      },
    });
    const { h } = await harnessOf(loop, clock);
    const record = await h.runCycle();
    assert.equal(collected, 1);
    assert.deepEqual(record.counts, { planned: 2, succeeded: 1, failed: 0, skipped: 1 });
    const skipped = (await h.store.cycles.items(record.id)).find((i) => i.status === 'skipped');
    assert.match(skipped?.error?.message ?? '', /is already present \(100 bytes\): not collected again/);
    await h.stop();
  });

  it('a collector that exits fine without writing the object fails the item, naming the path', async () => {
    const clock = new VirtualClock({ now: START });
    const inventory = new MemoryInventory({ now: () => clock.now() });
    const loop = reconcileLoop({
      clock,
      inventory,
      sources: { a: { key: 'a/{value}', values: ['x'] } },
      collector: async () => 'done',
    });
    const { h } = await harnessOf(loop, clock);
    const record = await h.runCycle();
    const [item] = await h.store.cycles.items(record.id);
    assert.equal(item?.status, 'failed');
    assert.match(item?.error?.message ?? '', /the collector succeeded but the object is still missing at memory:a\/x/);
    await h.stop();
  });

  it('per-source concurrency holds while sources run side by side', async () => {
    const clock = new VirtualClock({ now: START });
    const inventory = new MemoryInventory({ now: () => clock.now() });
    const active = new Map<string, number>();
    const peak = new Map<string, number>();
    const loop = reconcileLoop({
      clock,
      inventory,
      sources: {
        slow: { key: 'slow/{value}', values: ['1', '2', '3', '4', '5', '6'] },
        fast: { key: 'fast/{value}', values: ['1', '2', '3', '4', '5', '6'] },
      },
      options: { sourceConcurrency: (s) => (s === 'slow' ? 1 : 3), policies: { concurrency: 4, timeout: '1h' } },
      collector: async ({ gap, signal }) => {
        active.set(gap.source, (active.get(gap.source) ?? 0) + 1);
        peak.set(gap.source, Math.max(peak.get(gap.source) ?? 0, active.get(gap.source) ?? 0));
        await clock.sleep(gap.source === 'slow' ? 10 * MIN : MIN, signal);
        active.set(gap.source, (active.get(gap.source) ?? 1) - 1);
        inventory.put(gap.key, 100);
      },
    });
    const { h } = await harnessOf(loop, clock);
    const record = await h.runCycle();
    assert.equal(record.counts.succeeded, 12);
    assert.deepEqual(Object.fromEntries(peak), { slow: 1, fast: 3 });
    await h.stop();
  });

  it('the stored collection times keep which keys were collected least recently, integer-like keys too', () => {
    const d = new CollectionDurations();
    d.record('a', 'b', 10);
    d.record('a', '2', 20); // a JSON object would list "2" before "b"
    const again = CollectionDurations.from(JSON.parse(JSON.stringify(d)));
    // MAX_KEYS - 1 new keys push out exactly the least recently collected: "b".
    for (let i = 0; i < MAX_KEYS - 1; i++) again.record('c', `new-${i}`, 1);
    assert.equal(again.expected('x', 'b'), undefined);
    assert.equal(again.expected('x', '2'), 20);
    assert.equal(again.sourceMean('a'), 20 * 0.3 + 10 * 0.7);
    // An older version's document (keys as an object) is still read.
    const old = CollectionDurations.from({ sources: {}, keys: { k: 5 } });
    assert.equal(old.expected('x', 'k'), 5);
  });

  it('orders equal-priority gaps longest expected first, from earlier collections', async () => {
    const clock = new VirtualClock({ now: START });
    const inventory = new MemoryInventory({ now: () => clock.now() });
    const loop = reconcileLoop({ clock, inventory, sources: { a: { key: 'a/{value}', values: ['1', '2', '3'] } } });
    loop.durations.record('a', 'a/1', 1_000);
    loop.durations.record('a', 'a/2', 9_000);
    loop.durations.record('a', 'a/3', 5_000);
    const planned = loop.plan(
      ['a/1', 'a/2', 'a/3'].map((key) => ({
        source: 'a',
        key,
        reason: 'stale' as const,
        priority: 'low' as const,
        detail: '',
        date: null,
        fields: {},
      })),
    );
    assert.deepEqual(
      planned.map((p) => p.key),
      ['a/2', 'a/3', 'a/1'],
    );
    assert.equal(planned[0]?.idempotencyKey, 'reconcile:collect:a/2');
  });
});

describe('reconcile: the queue threshold (the seed task monitor)', () => {
  it('starts a cycle when gaps wait, again while a failing gap remains (backing off), never while one runs', async () => {
    const clock = new VirtualClock({ now: START });
    const inventory = new MemoryInventory({ now: () => clock.now() });
    let failures = 1;
    const loop = reconcileLoop({
      clock,
      inventory,
      sources: { a: { key: 'a/{value}', values: ['x', 'y'] } },
      options: { threshold: { minTasks: 1, everyMs: 30_000 }, trigger: { interval: '1h' } },
      collector: async ({ gap, signal }) => {
        await clock.sleep(45_000, signal);
        if (gap.key === 'a/y' && failures-- > 0) throw new Error('upstream 503');
        inventory.put(gap.key, 100);
      },
    });
    const { h, api } = await harnessOf(loop, clock, true);
    // 30 s: no report yet -> a cycle; one source at a time, 45 s per gap: it ends at 120 s, a/y failed.
    await h.advance(140_000);
    await api.idle();
    let cycles = (await h.cycles()).filter((c) => c.trigger === 'manual');
    assert.equal(cycles.length, 1);
    assert.deepEqual(cycles[0]?.counts, { planned: 2, succeeded: 1, failed: 1, skipped: 0 });
    assert.equal(loop.report?.total, 1);
    // 30 s after it (the first kick collected something, so no back-off) a second kick: a/y succeeds.
    await h.advance(100_000);
    await api.idle();
    cycles = (await h.cycles()).filter((c) => c.trigger === 'manual');
    assert.equal(cycles.length, 2);
    assert.equal(loop.report?.total, 0);
    // Nothing waits: no more kicks.
    await h.advance(10 * MIN);
    assert.equal((await h.cycles()).filter((c) => c.trigger === 'manual').length, 2);
    assert.ok(
      (await h.cycles()).every((c) => c.outcome.kind !== 'skipped'),
      'never kicked while a cycle ran (an overlap would be a skipped record)',
    );
    await h.stop();
  });
});

describe('reconcile: per-source rate limits', () => {
  it('a limited source starts at most N collections in any window, an unlimited one is not held back', async () => {
    const clock = new VirtualClock({ now: START });
    const inventory = new MemoryInventory({ now: () => clock.now() });
    const starts: Record<string, number[]> = { a: [], b: [] };
    const loop = reconcileLoop({
      clock,
      inventory,
      sources: {
        a: { key: 'a/{date}.json', dates: { from: '-4d', to: 'today' } },
        b: { key: 'b/{date}.json', dates: { from: '-4d', to: 'today' } },
      },
      collector: async ({ gap }) => {
        starts[gap.source]?.push(clock.now() - START);
        inventory.put(gap.key, 100);
      },
      options: {
        sourceConcurrency: () => 5,
        policies: { timeout: '1h', concurrency: 10, retry: { attempts: 1 } },
        sourceRateLimit: (source) => (source === 'a' ? { requests: 2, perMs: 10 * MIN } : null),
      },
    });
    const { h } = await harnessOf(loop, clock);
    const record = await h.runCycle();
    assert.deepEqual(record.counts, { planned: 10, succeeded: 10, failed: 0, skipped: 0 });
    assert.deepEqual(starts.b, [0, 0, 0, 0, 0], 'b has no limit: all at once');
    const a = starts.a as number[];
    assert.equal(a.length, 5);
    for (let i = 0; i + 2 < a.length; i++) {
      assert.ok((a[i + 2] as number) - (a[i] as number) >= 10 * MIN, `3 starts within 10 min: ${a.join(', ')}`);
    }
    assert.ok((a.at(-1) as number) <= 21 * MIN, `a's five took two windows, not more: ${a.join(', ')}`);
    await h.stop();
  });
});

describe('reconcile: the runner keeps the plan order', () => {
  it("a reconcile loop's items start as its plan ordered them (policies.order plan), unless overridden", () => {
    const clock = new VirtualClock({ now: START });
    const inventory = new MemoryInventory({ now: () => clock.now() });
    assert.equal(reconcileLoop({ clock, inventory }).definition.policies?.order, 'plan');
    const overridden = reconcileLoop({
      clock,
      inventory,
      options: { policies: { order: 'longest-first', timeout: '1h', concurrency: 4, retry: { attempts: 1 } } },
    });
    assert.equal(overridden.definition.policies?.order, 'longest-first');
  });
});
