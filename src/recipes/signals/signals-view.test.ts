import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { CycleRecord, ItemResult } from '../../core/cycle-record.ts';
import { MemoryStore } from '../../storage/memory/memory-store.ts';
import { SqliteStore } from '../../storage/sqlite/sqlite-store.ts';
import type { Store } from '../../storage/store.ts';
import type { Signal } from './signal.ts';
import { cycleSignals, latestSignals } from './signals-view.ts';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const OWNER = 'test:1:a';

function signal(symbol: string, minute: number, action: Signal['action'] = 'HOLD', generatedDelayMs = 1_000): Signal {
  const scheduledAt = T0 + minute * MIN;
  return {
    symbol,
    tick: `signals@${new Date(scheduledAt).toISOString()}`,
    scheduledAt,
    action,
    confidence: 0.5,
    score: 0,
    reasons: ['test'],
    indicators: {
      price: 100,
      at: scheduledAt - MIN,
      candles: 100,
      emaFast: 100,
      emaSlow: 100,
      emaCross: 'none',
      rsi: 50,
      macd: { macd: 0, signal: 0, histogram: 0 },
      bollinger: { upper: 101, middle: 100, lower: 99 },
    },
    generatedAt: scheduledAt + generatedDelayMs,
    cycleId: `c${minute}`,
    source: { feed: 'simulated random walk (seed 1)', simulated: true },
  };
}

type Outcome = { key: string; output?: unknown; status?: ItemResult['status'] };

/** Stores one cycle of `loop` at `minute` with its item results, through the store port as the runtime does. */
async function storeCycle(
  store: Store,
  loop: string,
  minute: number,
  results: Outcome[],
  options: { trigger?: CycleRecord['trigger']; finished?: boolean; id?: string } = {},
): Promise<void> {
  const id = options.id ?? `${loop}-c${minute}`;
  const at = T0 + minute * MIN;
  const record: CycleRecord = {
    id,
    loop,
    tickId: `${loop}@${new Date(at).toISOString()}${options.id ? `:${options.id}` : ''}`,
    trigger: options.trigger ?? 'cron',
    scheduledAt: at,
    startedAt: at,
    finishedAt: null,
    steps: {},
    counts: { planned: results.length, succeeded: 0, failed: 0, skipped: 0 },
    outcome: { kind: 'running' },
    owner: OWNER,
  };
  assert.equal(await store.cycles.start(record), true);
  const queued = await store.queue.enqueue(
    loop,
    id,
    results.map((r) => ({ key: r.key, priority: 2, payload: r.key, idempotencyKey: `${id}:${r.key}` })),
    { owner: OWNER, until: at + MIN },
    at,
  );
  for (const [i, r] of results.entries()) {
    const status = r.status ?? 'succeeded';
    const result: ItemResult = {
      cycleId: id,
      loop,
      key: r.key,
      idempotencyKey: `${id}:${r.key}`,
      priority: 2,
      status,
      attempts: 1,
      startedAt: at,
      finishedAt: at + 1_000,
      durationMs: 1_000,
      ...(status === 'succeeded' ? { output: r.output } : { error: { name: 'StageError', message: 'x' } }),
    };
    assert.equal(await store.queue.complete((queued[i] as { id: string }).id, OWNER, result), true);
    record.counts[status]++;
  }
  if (options.finished === false) return;
  const { succeeded, failed } = record.counts;
  record.finishedAt = at + 2_000;
  record.outcome =
    failed === 0
      ? { kind: 'ok' }
      : succeeded === 0
        ? { kind: 'failed', step: 'act', error: { name: 'E', message: 'x' } }
        : { kind: 'partial', failed };
  await store.cycles.finish(record);
}

async function skippedCycle(store: Store, loop: string, minute: number): Promise<void> {
  const at = T0 + minute * MIN;
  await store.cycles.start({
    id: `${loop}-s${minute}`,
    loop,
    tickId: `${loop}@${new Date(at).toISOString()}`,
    trigger: 'cron',
    scheduledAt: at,
    startedAt: at,
    finishedAt: at,
    steps: {},
    counts: { planned: 0, succeeded: 0, failed: 0, skipped: 0 },
    outcome: { kind: 'skipped', reason: 'breaker: llm_service is open' },
    owner: OWNER,
  });
}

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const backends: Array<[string, () => Store]> = [
  ['MemoryStore', () => new MemoryStore()],
  [
    'SqliteStore (a real file)',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'autoloop-signals-view-'));
      dirs.push(dir);
      return SqliteStore.open(join(dir, 'state.db'));
    },
  ],
];

for (const [name, open] of backends) {
  describe(`latestSignals on ${name}`, () => {
    it('the latest signal per symbol across cycles: failures and skips do not hide older signals', async () => {
      const store = open();
      try {
        await storeCycle(store, 'signals', 0, [
          { key: 'BTC/USD', output: signal('BTC/USD', 0, 'SELL') },
          { key: 'ETH/USD', output: signal('ETH/USD', 0, 'BUY') },
        ]);
        await storeCycle(store, 'signals', 1, [
          { key: 'BTC/USD', output: signal('BTC/USD', 1, 'BUY') },
          { key: 'ETH/USD', status: 'failed' },
        ]);
        await skippedCycle(store, 'signals', 2);
        await storeCycle(store, 'other', 3, [{ key: 'BTC/USD', output: signal('BTC/USD', 3, 'HOLD') }]);
        const latest = await latestSignals(store, 'signals', { now: T0 + 3 * MIN });
        assert.deepEqual(
          latest.map((s) => [s.symbol, s.action, s.scheduledAt]),
          [
            ['BTC/USD', 'BUY', T0 + MIN],
            ['ETH/USD', 'BUY', T0],
          ],
        );
        assert.deepEqual(latest[0], signal('BTC/USD', 1, 'BUY'), 'read back whole');
      } finally {
        await store.close();
      }
    });

    it('includes results of a cycle still running, and prefers the later tick over a later recovery run', async () => {
      const store = open();
      try {
        await storeCycle(store, 'signals', 5, [{ key: 'SOL/USD', output: signal('SOL/USD', 5, 'SELL') }]);
        // A recovery cycle re-ran an older tick's item after it: started later, about an earlier tick.
        await storeCycle(store, 'signals', 6, [{ key: 'SOL/USD', output: signal('SOL/USD', 4, 'BUY', 2 * MIN) }], {
          trigger: 'recovery',
          id: 'recovery-6',
        });
        await storeCycle(store, 'signals', 7, [{ key: 'ADA/USD', output: signal('ADA/USD', 7, 'BUY') }], {
          finished: false,
        });
        const latest = await latestSignals(store, 'signals', { now: T0 + 7 * MIN });
        assert.deepEqual(
          latest.map((s) => [s.symbol, s.action]),
          [
            ['ADA/USD', 'BUY'],
            ['SOL/USD', 'SELL'],
          ],
        );
      } finally {
        await store.close();
      }
    });

    it('leaves out outputs that are not signals, and signals older than maxAgeMs', async () => {
      const store = open();
      try {
        await storeCycle(store, 'signals', 0, [{ key: 'OLD/USD', output: signal('OLD/USD', 0) }]);
        await storeCycle(store, 'signals', 10, [
          { key: 'BAD/USD', output: { symbol: 'BAD/USD', action: 'MAYBE' } },
          { key: 'NULL/USD', output: null },
          { key: 'NEW/USD', output: signal('NEW/USD', 10) },
          { key: 'ERR/USD', status: 'failed' }, // so the view reads on to older cycles
        ]);
        const all = await latestSignals(store, 'signals', { now: T0 + 10 * MIN });
        assert.deepEqual(
          all.map((s) => s.symbol),
          ['NEW/USD', 'OLD/USD'],
        );
        const fresh = await latestSignals(store, 'signals', { now: T0 + 10 * MIN, maxAgeMs: 5 * MIN });
        assert.deepEqual(
          fresh.map((s) => s.symbol),
          ['NEW/USD'],
        );
        assert.deepEqual(
          (await cycleSignals(store, 'signals-c10')).map((s) => s.symbol),
          ['NEW/USD'],
        );
      } finally {
        await store.close();
      }
    });

    it('reads a bounded number of records: at most `cycles`, and stops at a cycle where every symbol succeeded', async () => {
      const store = open();
      try {
        await storeCycle(store, 'signals', 0, [{ key: 'GONE/USD', output: signal('GONE/USD', 0) }]);
        await storeCycle(store, 'signals', 1, [{ key: 'BTC/USD', output: signal('BTC/USD', 1) }]);
        await storeCycle(store, 'signals', 2, [
          { key: 'BTC/USD', output: signal('BTC/USD', 2) },
          { key: 'ETH/USD', status: 'failed' },
        ]);
        const itemReads: string[] = [];
        const counting = {
          cycles: {
            ...store.cycles,
            list: store.cycles.list.bind(store.cycles),
            items: (id: string) => {
              itemReads.push(id);
              return store.cycles.items(id);
            },
          },
        };
        const latest = await latestSignals(counting, 'signals', { now: T0 + 2 * MIN });
        assert.deepEqual(
          latest.map((s) => [s.symbol, s.scheduledAt]),
          [['BTC/USD', T0 + 2 * MIN]],
          'GONE/USD is older than the complete cycle 1: not read',
        );
        assert.deepEqual(itemReads, ['signals-c2', 'signals-c1']);
        itemReads.length = 0;
        const one = await latestSignals(counting, 'signals', { now: T0, cycles: 1 });
        assert.deepEqual(itemReads, ['signals-c2']);
        assert.equal(one.length, 1);
        await assert.rejects(
          latestSignals(store, 'signals', { now: 0, cycles: 0 }),
          /cycles: expected an integer >= 1, got 0/,
        );
      } finally {
        await store.close();
      }
    });
  });
}
