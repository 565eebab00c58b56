import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineLoop } from '../src/config/define-loop.ts';
import { TerminalError } from '../src/core/errors.ts';
import type { LoopDefinition } from '../src/core/loop.ts';
import { createRuntime } from '../src/runtime/runtime.ts';
import { MemoryStore } from '../src/storage/memory/memory-store.ts';
import type { Store } from '../src/storage/store.ts';
import { createLoopHarness } from '../src/testing/loop-harness.ts';
import { VirtualClock } from '../src/time/virtual-clock.ts';

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);
const keys = (n: number) => Array.from({ length: n }, (_, i) => `k${i}`);

describe('schedules on the virtual clock', () => {
  it('a cron with seconds fires one cycle per tick, with tick ids from the schedule', async () => {
    const loop = defineLoop({
      name: 'c',
      trigger: { cron: '*/10 * * * * *' },
      observe: () => ['a'],
      act: () => 'done',
    });
    const h = await createLoopHarness([loop], { clock: new VirtualClock({ now: T0 }) });
    await h.advance(60_000);
    const cycles = await h.cycles();
    assert.deepEqual(
      cycles.map((c) => c.tickId),
      [10, 20, 30, 40, 50, 60].map((s) => `c@${new Date(T0 + s * 1000).toISOString()}`),
    );
    assert.ok(cycles.every((c) => c.outcome.kind === 'ok' && c.counts.succeeded === 1));
    await h.stop();
    assert.equal(h.clock.pendingTimers, 0, 'no timer leaked after stop');
  });

  it('an interval fires on multiples of the interval', async () => {
    const loop = defineLoop({ name: 'i', trigger: { interval: '15s' }, act: () => null });
    const h = await createLoopHarness([loop], { clock: new VirtualClock({ now: T0 + 7_000 }) });
    await h.advance(45_000);
    const cycles = await h.cycles();
    assert.deepEqual(
      cycles.map((c) => (c.scheduledAt - T0) / 1000),
      [15, 30, 45],
    );
    await h.stop();
  });

  it('overlap skip: a tick during a running cycle is recorded as skipped with its reason', async () => {
    const slow = defineLoop({
      name: 'slow',
      trigger: { cron: '*/10 * * * * *', overlap: 'skip' },
      observe: () => ['x'],
      act: (_item, { clock, signal }) => clock.sleep(15_000, signal),
      policies: { timeout: '1m' },
    });
    const h = await createLoopHarness([slow], { clock: new VirtualClock({ now: T0 }) });
    await h.advance(40_000);
    const cycles = await h.cycles();
    const summary = cycles.map((c) => [(c.scheduledAt - T0) / 1000, c.outcome.kind]);
    assert.deepEqual(summary, [
      [10, 'ok'],
      [20, 'skipped'],
      [30, 'running'],
      [40, 'skipped'],
    ]);
    const skipped = cycles[1];
    assert.equal(skipped?.outcome.kind, 'skipped');
    assert.match(
      skipped?.outcome.kind === 'skipped' ? skipped.outcome.reason : '',
      /^overlap: cycle for slow@.* still running$/,
    );
    assert.equal(h.events.filter((e) => e.type === 'cycle.skipped').length, 2);
    await h.stop(60_000);
  });

  it('overlap queue-one: one tick waits and runs when the current cycle ends; a third is skipped', async () => {
    const slow = defineLoop({
      name: 'q',
      trigger: { cron: '*/10 * * * * *', overlap: 'queue-one' },
      observe: () => ['x'],
      act: (_item, { clock, signal }) => clock.sleep(25_000, signal),
      policies: { timeout: '1m' },
    });
    const h = await createLoopHarness([slow], { clock: new VirtualClock({ now: T0 }) });
    await h.advance(36_000);
    const cycles = await h.cycles();
    // tick 10 runs 10..35; tick 20 waits; tick 30 finds 20 queued and is skipped; 20 starts at 35.
    assert.deepEqual(
      cycles.map((c) => [(c.scheduledAt - T0) / 1000, c.outcome.kind, (c.startedAt - T0) / 1000]),
      [
        [10, 'ok', 10],
        [30, 'skipped', 30],
        [20, 'running', 35],
      ],
    );
    await h.stop(60_000);
  });

  it('ticks missed while the process was frozen are recorded as skipped; only the latest runs', async () => {
    const loop = defineLoop({ name: 'm', trigger: { cron: '*/10 * * * * *' }, act: () => null, observe: () => ['a'] });
    const h = await createLoopHarness([loop], { clock: new VirtualClock({ now: T0 }) });
    await h.advance(10_000);
    h.clock.jump(35_000); // frozen from 10 s to 45 s: ticks 20, 30, 40 fall due unseen
    await h.advance(0);
    const cycles = (await h.cycles()).sort((a, b) => a.scheduledAt - b.scheduledAt);
    assert.deepEqual(
      cycles.map((c) => [(c.scheduledAt - T0) / 1000, c.outcome.kind]),
      [
        [10, 'ok'],
        [20, 'skipped'],
        [30, 'skipped'],
        [40, 'ok'],
      ],
    );
    assert.match(cycles[1]?.outcome.kind === 'skipped' ? cycles[1].outcome.reason : '', /^missed:/);
    await h.stop();
  });
});

describe('act policies', () => {
  it('retries with exponential backoff and full jitter, then succeeds', async () => {
    let calls = 0;
    const loop = defineLoop({
      name: 'r',
      trigger: { manual: true },
      observe: () => ['flaky'],
      act: () => {
        calls++;
        if (calls < 3) throw new Error(`attempt ${calls} failed`);
        return { ok: true };
      },
      policies: { retry: { attempts: 3, backoff: '1s', maxBackoff: '30s' } },
    });
    const h = await createLoopHarness([loop], { random: () => 0.5 });
    const record = await h.runCycle();
    assert.equal(record.outcome.kind, 'ok');
    const retried = h.events
      .filter((e) => e.type === 'item.retried')
      .map((e) => (e.data as { delayMs: number }).delayMs);
    assert.deepEqual(retried, [500, 1000], 'random 0.5 of 1 s then of 2 s');
    const [item] = await h.store.cycles.items(record.id);
    assert.equal(item?.attempts, 3);
    assert.deepEqual(item?.output, { ok: true });
    await h.stop();
  });

  it('a TerminalError fails at once, without retries', async () => {
    let calls = 0;
    const loop = defineLoop({
      name: 't',
      trigger: { manual: true },
      observe: () => ['x'],
      act: () => {
        calls++;
        throw new TerminalError('bad input, retrying will not help');
      },
      policies: { retry: { attempts: 5 } },
    });
    const h = await createLoopHarness([loop]);
    const record = await h.runCycle();
    assert.equal(calls, 1);
    assert.equal(record.outcome.kind, 'failed');
    const [item] = await h.store.cycles.items(record.id);
    assert.equal(item?.error?.name, 'TerminalError');
    await h.stop();
  });

  it('a timeout aborts the item signal, fails that item only, and the cycle is partial', async () => {
    let sawAbort = false;
    const loop = defineLoop({
      name: 'to',
      trigger: { manual: true },
      observe: () => ['hang', 'a', 'b'],
      act: async (item, { signal, clock }) => {
        if (item.key !== 'hang') return item.key;
        signal.addEventListener('abort', () => {
          sawAbort = true;
        });
        await clock.sleep(3_600_000); // ignores its signal on purpose: the slot must still be freed
        return 'never';
      },
      policies: { timeout: '2s' },
    });
    const h = await createLoopHarness([loop]);
    const start = h.clock.now();
    const record = await h.runCycle();
    assert.equal(sawAbort, true);
    assert.deepEqual(record.outcome, { kind: 'partial', failed: 1 });
    assert.equal((record.finishedAt ?? 0) - start, 2_000, 'the cycle ends at the timeout, not when the item gives up');
    const items = await h.store.cycles.items(record.id);
    const hang = items.find((i) => i.key === 'hang');
    assert.equal(hang?.status, 'failed');
    assert.match(hang?.error?.message ?? '', /act hang: timed out after 2000 ms/);
    assert.equal(items.filter((i) => i.status === 'succeeded').length, 2);
    await h.stop();
  });

  it('items run in priority order, and concurrency can change at run time', async () => {
    const order: string[] = [];
    const loop: LoopDefinition<string[]> = {
      name: 'p',
      trigger: { manual: true },
      observe: () => ['low1', 'crit', 'low2', 'high'],
      plan: (names) =>
        names.map((key) => ({
          key,
          priority: key.startsWith('crit') ? 'critical' : key.startsWith('high') ? 'high' : 'low',
        })),
      act: async (item, { clock }) => {
        order.push(item.key);
        await clock.sleep(100);
      },
      policies: { concurrency: 1 },
    };
    const h = await createLoopHarness([loop as LoopDefinition]);
    await h.runCycle();
    assert.deepEqual(order, ['crit', 'high', 'low1', 'low2']);
    h.runtime.loop('p').setConcurrency(4);
    const start = h.clock.now();
    const record = await h.runCycle();
    assert.equal((record.finishedAt ?? 0) - start, 100, 'all four at once after raising concurrency');
    await h.stop();
  });

  it('a slot freed by a finished item is refilled at once, while other items still wait for their lease', async () => {
    // Lease acquisitions take 100 ms (a store far away); items take none. With concurrency 2, the
    // two slots refill as items finish: 6 items in 3 lease round trips, never one slot idle while
    // the other's next lease is pending.
    const clock = new VirtualClock({ now: T0 });
    const store = new MemoryStore();
    const leases = store.leases;
    const acquiredAt: number[] = [];
    const slowLeases: typeof leases = {
      acquire: async (...args) => {
        await clock.sleep(100);
        acquiredAt.push(clock.now() - T0);
        return leases.acquire(...args);
      },
      renew: (...args) => leases.renew(...args),
      release: (...args) => leases.release(...args),
      sweep: (...args) => leases.sweep(...args),
      list: (...args) => leases.list(...args),
      currentToken: (...args) => leases.currentToken(...args),
    };
    const slowStore: Store = {
      cycles: store.cycles,
      queue: store.queue,
      events: store.events,
      leases: slowLeases,
      instances: store.instances,
      buckets: store.buckets,
      documents: store.documents,
      journals: store.journals,
      ping: () => store.ping(),
      prune: (before) => store.prune(before),
      close: () => store.close(),
      description: store.description,
    };
    const loop = defineLoop({
      name: 'fill',
      trigger: { manual: true },
      observe: () => ['a', 'b', 'c', 'd', 'e', 'f'],
      act: () => null,
      policies: { concurrency: 2 },
    });
    const h = await createLoopHarness([loop], { clock, store: slowStore });
    const start = clock.now();
    const record = await h.runCycle();
    assert.equal(record.counts.succeeded, 6);
    assert.deepEqual(acquiredAt, [100, 100, 200, 200, 300, 300]);
    assert.equal((record.finishedAt ?? 0) - start, 300);
    await h.stop();
  });

  it('observe and plan failures fail the cycle with the step and a message', async () => {
    const broken = defineLoop({
      name: 'b',
      trigger: { manual: true },
      observe: () => {
        throw new Error('inventory unreachable');
      },
      act: () => null,
    });
    const dupes = defineLoop({ name: 'd', trigger: { manual: true }, observe: () => ['x', 'x'], act: () => null });
    const h = await createLoopHarness([broken, dupes]);
    const a = await h.runCycle('b');
    assert.equal(a.outcome.kind, 'failed');
    assert.equal(a.outcome.kind === 'failed' && a.outcome.step, 'observe');
    assert.match(
      a.outcome.kind === 'failed' ? a.outcome.error.message : '',
      /cycle b#\w+: observe: inventory unreachable/,
    );
    const b = await h.runCycle('d');
    assert.equal(b.outcome.kind === 'failed' && b.outcome.step, 'plan');
    assert.match(b.outcome.kind === 'failed' ? b.outcome.error.message : '', /duplicate key "x"/);
    await h.stop();
  });
});

describe('durability and shutdown', () => {
  it('a cycle adopts items a crashed process left claimed in the queue, and runs them', async () => {
    const store = new MemoryStore();
    const clock = new VirtualClock({ now: T0 });
    const orphan = { key: 'orphan', priority: 0, payload: { n: 1 }, idempotencyKey: 'crashed:orphan' };
    await store.queue.enqueue('a', 'dead-cycle', [orphan], { owner: 'dead-host:1:x', until: T0 + 1_000 }, T0);
    clock.jump(2_000);
    const ran: string[] = [];
    const loop = defineLoop({
      name: 'a',
      trigger: { manual: true },
      observe: () => ['fresh'],
      act: (item) => void ran.push(item.key),
    });
    const h = await createLoopHarness([loop], { store, clock, schedule: false });
    const record = await h.runCycle();
    assert.deepEqual(ran.sort(), ['fresh', 'orphan']);
    assert.equal(record.counts.planned, 2);
    assert.equal((await store.queue.list('a')).length, 0, 'both left the queue with their results');
    await h.stop();
  });

  it('the recovery loop adopts orphaned items within a second of their claim expiring, in a recovery cycle', async () => {
    const store = new MemoryStore();
    const clock = new VirtualClock({ now: T0 });
    const orphans = ['o1', 'o2'].map((key) => ({ key, priority: 2, payload: null, idempotencyKey: `crashed:${key}` }));
    await store.queue.enqueue('a', 'dead-cycle', orphans, { owner: 'dead-host:1:x', until: T0 + 5_000 }, T0);
    const ran: Array<[string, number]> = [];
    const loop = defineLoop({
      name: 'a',
      trigger: { manual: true },
      act: (item, { clock: c }) => void ran.push([item.key, c.now() - T0]),
    });
    const h = await createLoopHarness([loop], { store, clock });
    await h.advance(4_000);
    assert.equal(ran.length, 0, 'a live claim is left alone');
    await h.advance(2_000);
    assert.deepEqual(ran.map(([k]) => k).sort(), ['o1', 'o2']);
    assert.ok(
      ran.every(([, at]) => at >= 5_000 && at <= 6_000),
      `adopted within 1 s of expiry: ${JSON.stringify(ran)}`,
    );
    const [recovery] = await h.cycles();
    assert.equal(recovery?.trigger, 'recovery');
    assert.equal(recovery?.counts.succeeded, 2);
    await h.stop();
  });

  it('two runtimes sharing a store run a tick once; the other reports a duplicate', async () => {
    const store = new MemoryStore();
    const clock = new VirtualClock({ now: T0 });
    let runs = 0;
    const loop = defineLoop({
      name: 'one',
      trigger: { cron: '*/10 * * * * *' },
      observe: () => ['x'],
      act: () => void runs++,
    });
    const a = await createLoopHarness([loop], { store, clock });
    const b = await createLoopHarness([loop], { store, clock });
    await clock.advance(30_000);
    assert.equal(runs, 3);
    assert.equal((await a.cycles()).length, 3);
    const skips = [...a.events, ...b.events].filter((e) => e.type === 'cycle.skipped');
    assert.equal(skips.length, 3);
    assert.match((skips[0]?.data as { reason: string } | undefined)?.reason ?? '', /^duplicate tick/);
    await a.stop();
    await b.stop();
  });

  it('shutdown drains in-flight items within the grace period', async () => {
    const loop = defineLoop({
      name: 's',
      trigger: { cron: '*/10 * * * * *' },
      observe: () => keys(5),
      act: (_i, { clock, signal }) => clock.sleep(3_000, signal),
    });
    const h = await createLoopHarness([loop], { clock: new VirtualClock({ now: T0 }) });
    await h.advance(11_000); // cycle started at 10 s, items end at 13 s
    const stopAt = h.clock.now();
    await h.stop(30_000);
    assert.equal(h.clock.now() - stopAt, 2_000);
    const [cycle] = await h.cycles();
    assert.equal(cycle?.outcome.kind, 'ok');
    assert.equal(cycle?.counts.succeeded, 5);
    assert.ok(h.events.some((e) => e.type === 'runtime.stopped' && (e.data as { drained: boolean }).drained));
  });

  it('cycles leave no listener behind on the runner: many cycles, no MaxListenersExceededWarning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      const loop = defineLoop({
        name: 'many',
        trigger: { manual: true },
        observe: () => keys(3),
        act: () => 'ok',
        policies: { concurrency: 1 },
      });
      const h = await createLoopHarness([loop]);
      for (let i = 0; i < 25; i++) await h.runCycle();
      await h.stop();
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(
        warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')),
        [],
        'a listener added per cycle would pass the EventTarget limit of 10',
      );
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('shutdown starts nothing new: in-flight items finish, the ones not started go back to the queue unclaimed', async () => {
    const store = new MemoryStore();
    const started: number[] = [];
    const loop = defineLoop({
      name: 'drain',
      trigger: { cron: '*/30 * * * * *' },
      observe: () => keys(20),
      act: async (_i, { clock, signal }) => {
        started.push(clock.now());
        await clock.sleep(2_000, signal);
        return 'done';
      },
      policies: { concurrency: 10, timeout: '1m' },
    });
    const h = await createLoopHarness([loop], { clock: new VirtualClock({ now: T0 }), store });
    await h.clock.runUntil(() => started.length === 10);
    await h.advance(500);
    const stopAt = h.clock.now();
    await h.stop(30_000);
    assert.equal(started.length, 10, 'no item started after the stop');
    assert.ok(
      started.every((at) => at < stopAt),
      'every start came before the stop',
    );
    assert.ok(h.clock.now() - stopAt <= 2_000, `drained in ${h.clock.now() - stopAt} ms: in-flight items only`);
    const [cycle] = await h.cycles();
    assert.deepEqual(cycle?.counts, { planned: 20, succeeded: 10, failed: 0, skipped: 0 });
    assert.equal(cycle?.outcome.kind, 'failed');
    assert.match(
      cycle?.outcome.kind === 'failed' ? cycle.outcome.error.message : '',
      /^interrupted by shutdown: 10 item\(s\) returned to the queue .*10 succeeded/,
    );
    const queued = await store.queue.list('drain');
    assert.equal(queued.length, 10, 'the 10 not started are queued');
    assert.ok(
      queued.every((q) => q.claim === null),
      'and unclaimed: a peer or the next start takes them at once',
    );
    assert.deepEqual((await store.leases.list(h.clock.now())).length, 0, 'no lease left behind');
  });

  it('past the grace period items are aborted and returned to the queue, not lost', async () => {
    const store = new MemoryStore();
    const loop = defineLoop({
      name: 'g',
      trigger: { cron: '*/10 * * * * *' },
      observe: () => keys(3),
      act: (_i, { clock, signal }) => clock.sleep(600_000, signal),
      policies: { timeout: '1h' },
    });
    const h = await createLoopHarness([loop], { clock: new VirtualClock({ now: T0 }), store });
    await h.advance(11_000);
    const stopAt = h.clock.now();
    await h.stop(5_000);
    assert.equal(h.clock.now() - stopAt, 5_000, 'stops at the bound');
    const [cycle] = await h.cycles();
    assert.equal(cycle?.outcome.kind, 'failed');
    assert.match(
      cycle?.outcome.kind === 'failed' ? cycle.outcome.error.message : '',
      /3 item\(s\) returned to the queue/,
    );
    const queued = await store.queue.list('g');
    assert.deepEqual(queued.map((q) => [q.key, q.claim]).sort(), [
      ['k0', null],
      ['k1', null],
      ['k2', null],
    ]);
  });

  it('refuses two loops with one name, and an unknown loop name lists the known ones', () => {
    const l = defineLoop({ name: 'x', trigger: { manual: true }, act: () => null });
    assert.throws(() => createRuntime({ loops: [l, l] }), /two loops are named "x"/);
    const rt = createRuntime({ loops: [l] });
    assert.throws(() => rt.loop('y'), /unknown loop "y"; loops in this config: x/);
  });
});

describe('runtime start', () => {
  it('a port in use fails start() with a clear message and leaves nothing running', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const store = new MemoryStore();
    const l = defineLoop({ name: 'x', trigger: { manual: true }, act: () => null });
    const rt = createRuntime({ loops: [l], store, http: { host: '127.0.0.1', port } });
    await assert.rejects(rt.start(), new RegExp(`cannot listen on 127.0.0.1:${port}: address already in use`));
    assert.equal(rt.state, 'stopped');
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  });
});

describe('missed ticks after downtime', () => {
  for (const policy of ['skip', 'run-once'] as const) {
    it(`policy ${policy}: ticks that fell due while no process ran are recorded with a reason${policy === 'run-once' ? '; the latest runs at start' : ''}`, async () => {
      const store = new MemoryStore();
      const clock = new VirtualClock({ now: T0 });
      const loop = defineLoop({
        name: 'd',
        trigger: { cron: '*/10 * * * * *', missed: policy },
        observe: () => ['x'],
        act: () => null,
      });
      const first = await createLoopHarness([loop], { store, clock });
      await first.advance(10_000); // tick 10 runs
      await first.stop();
      clock.jump(35_000); // down from 10 s to 45 s: ticks 20, 30, 40 pass with no process
      // Another process: its own ids (the same seed would hand it the first one's cycle ids).
      const second = await createLoopHarness([loop], { store, clock, seed: 2 });
      await second.advance(0);
      const cycles = (await second.cycles()).sort((a, b) => a.scheduledAt - b.scheduledAt);
      const summary = cycles.map((c) => [(c.scheduledAt - T0) / 1000, c.outcome.kind]);
      const expected =
        policy === 'skip'
          ? [
              [10, 'ok'],
              [20, 'skipped'],
              [30, 'skipped'],
              [40, 'skipped'],
            ]
          : [
              [10, 'ok'],
              [20, 'skipped'],
              [30, 'skipped'],
              [40, 'ok'],
            ];
      assert.deepEqual(summary, expected);
      const reason = cycles[1]?.outcome.kind === 'skipped' ? cycles[1].outcome.reason : '';
      assert.match(reason, /^missed: no process was running the loop when the tick fell due \(policy /);
      await second.stop();
    });
  }
});

describe('plan (dry run) and snapshot', () => {
  it('plan runs observe and plan only: nothing acts, nothing is written', async () => {
    let acted = 0;
    const loop = defineLoop({
      name: 'p',
      trigger: { cron: '*/10 * * * * *' },
      observe: () => ['a', 'b'],
      plan: (keys: string[]) => keys.map((key) => ({ key, priority: key === 'b' ? 'high' : 'low', payload: { key } })),
      act: () => void acted++,
    });
    const h = await createLoopHarness([loop], { clock: new VirtualClock({ now: T0 }) });
    const { tick, items } = await h.runtime.plan('p');
    assert.equal(tick.scheduledAt, T0 + 10_000, 'the next scheduled tick');
    assert.deepEqual(
      items.map((i) => [i.key, i.priority]),
      [
        ['a', 3],
        ['b', 1],
      ],
    );
    assert.equal(acted, 0);
    assert.equal((await h.cycles()).length, 0);
    assert.equal((await h.store.queue.list()).length, 0);
    await h.stop();
  });

  it('snapshot reports loops, dependencies, leases, queue and the live instance', async () => {
    const loop = defineLoop({
      name: 's',
      trigger: { manual: true },
      observe: () => ['a'],
      act: () => 1,
      policies: { uses: ['svc'] },
    });
    const h = await createLoopHarness([loop], { dependencies: { svc: { breaker: {} } } });
    await h.runCycle();
    const snap = await h.runtime.snapshot();
    assert.equal(snap.state, 'running');
    assert.equal(snap.loops[0]?.name, 's');
    assert.equal(snap.loops[0]?.lastCycle?.outcome.kind, 'ok');
    assert.deepEqual(snap.dependencies[0]?.breaker, { state: 'closed', value: 0 });
    assert.equal(snap.instances.length, 1);
    assert.equal(snap.instances[0]?.id, h.runtime.owner);
    await h.stop();
  });
});

describe('abandoned cycles', () => {
  it('the recovery loop closes a running record whose process stopped heartbeating, naming it', async () => {
    const store = new MemoryStore();
    const clock = new VirtualClock({ now: T0 });
    const dead = {
      id: 'deadcycle001',
      loop: 'z',
      tickId: 'z@dead',
      trigger: 'cron' as const,
      scheduledAt: T0 - 5_000,
      startedAt: T0 - 5_000,
      finishedAt: null,
      steps: {},
      counts: { planned: 1, succeeded: 0, failed: 0, skipped: 0 },
      outcome: { kind: 'running' as const },
      owner: 'gone-host:4242:dead',
    };
    await store.cycles.start(dead);
    const loop = defineLoop({ name: 'z', trigger: { manual: true }, act: () => null });
    const h = await createLoopHarness([loop], { store, clock });
    await h.advance(1_500);
    const closed = await store.cycles.get('deadcycle001');
    assert.equal(closed?.outcome.kind, 'failed');
    assert.match(
      closed?.outcome.kind === 'failed' ? closed.outcome.error.message : '',
      /abandoned: its process gone-host:4242:dead stopped heartbeating/,
    );
    assert.deepEqual(await store.cycles.running(), []);
    await h.stop();
  });
});

describe('leases follow pool slots', () => {
  it('an item takes its key lease only when it can take a pool slot: never more leases than concurrency', async () => {
    let h!: Awaited<ReturnType<typeof createLoopHarness>>;
    const held: number[] = [];
    const loop = defineLoop({
      name: 'ls',
      trigger: { manual: true },
      observe: () => keys(6),
      act: async (_i, { clock, signal }) => {
        held.push(h.runtime.activeLeases);
        await clock.sleep(100, signal);
      },
      policies: { concurrency: 2 },
    });
    h = await createLoopHarness([loop]);
    const record = await h.runCycle();
    assert.equal(record.counts.succeeded, 6);
    assert.ok(Math.max(...held) <= 2, `leases held while items ran: ${held.join(',')}`);
    assert.equal(h.runtime.activeLeases, 0, 'all released at the end');
    await h.stop();
  });
});
