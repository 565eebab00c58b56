/**
 * The store as a dependency behind a breaker (issue 5): when it is down,
 * ticks are skipped with the reason, readiness is 503, nothing crashes,
 * memory stays bounded, and work resumes on its own when it returns: a
 * result held during the outage is written, and every item planned but not
 * acknowledged runs again.
 *
 * Two halves: the logic on a virtual clock with a memory store that fails on
 * demand; then a real redis-server SIGKILLed mid-cycle and restarted without
 * persistence, over real sockets and real time.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { defineLoop } from '../src/config/define-loop.ts';
import { itemLeaseKey } from '../src/execution/act.ts';
import { EventRecorder, MAX_BUFFERED_EVENTS } from '../src/observability/event-recorder.ts';
import { EventBus } from '../src/observability/events.ts';
import { OUTAGE_LIMITS } from '../src/runtime/outage-buffer.ts';
import { createRuntime, type Runtime } from '../src/runtime/runtime.ts';
import { MemoryStore } from '../src/storage/memory/memory-store.ts';
import { openStore } from '../src/storage/open-store.ts';
import { type Store, StoreError } from '../src/storage/store.ts';
import { VirtualClock } from '../src/time/virtual-clock.ts';
import { HttpClient, sleep, waitFor } from './http-support.ts';
import { capturingLogger } from './support/capturing-logger.ts';
import { LONG } from './support/guarantees-children.ts';
import { type OwnedRedis, startOwnRedis } from './support/redis-server.ts';

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);
const KEYS = ['k0', 'k1', 'k2', 'k3', 'k4'];

/**
 * A real store wrapped so that every call fails at once (`down`) or never
 * answers (`hung`) on demand, as a store whose connection is gone does; it
 * also notes which results the store acknowledged (`complete` -> true).
 */
function faultyStore(inner: Store) {
  const state = { down: false, hung: false, acked: [] as Array<{ idem: string; at: number }> };
  const gate = <T>(fn: () => Promise<T>): Promise<T> => {
    if (state.hung) return new Promise<T>(() => {});
    if (state.down) return Promise.reject(new StoreError(`${inner.description}: connection refused (test)`));
    return fn();
  };
  const part = <T extends object>(target: T, name: string): T =>
    new Proxy(target, {
      get(obj, prop) {
        const value = Reflect.get(obj, prop, obj) as unknown;
        if (typeof value !== 'function') return value;
        const call = value as (...a: unknown[]) => Promise<unknown>;
        return (...args: unknown[]) =>
          gate(async () => {
            const result = await call.apply(obj, args);
            if (name === 'queue' && prop === 'complete' && result === true) {
              state.acked.push({ idem: (args[2] as { idempotencyKey: string }).idempotencyKey, at: Date.now() });
            }
            return result;
          });
      },
    });
  const store: Store = {
    cycles: part(inner.cycles, 'cycles'),
    queue: part(inner.queue, 'queue'),
    events: part(inner.events, 'events'),
    leases: part(inner.leases, 'leases'),
    instances: part(inner.instances, 'instances'),
    buckets: part(inner.buckets, 'buckets'),
    documents: part(inner.documents, 'documents'),
    journals: part(inner.journals, 'journals'),
    ping: () => gate(() => inner.ping()),
    prune: (before) => gate(() => inner.prune(before)),
    close: () => inner.close(),
    description: inner.description,
    ...(inner.broadcast && { broadcast: inner.broadcast }),
  };
  return { store, state };
}

/** A cron loop over KEYS, each act a short sleep; logs every plan and act with the item's planned id. */
function workLoop(actMs: number) {
  const planned: Array<{ idem: string; at: number }> = [];
  const acts: Array<{ idem: string; phase: 'start' | 'end'; ok: boolean; at: number }> = [];
  const loop = defineLoop({
    name: 'work',
    trigger: { cron: '* * * * * *' },
    observe: () => KEYS,
    plan: (keys, ctx) =>
      keys.map((key) => {
        const idem = `work:${key}:${ctx.tick.id}`;
        planned.push({ idem, at: Date.now() });
        return { key, payload: { idem }, idempotencyKey: idem };
      }),
    act: async (item, { clock, signal }) => {
      const { idem } = item.payload as { idem: string };
      acts.push({ idem, phase: 'start', ok: true, at: Date.now() });
      try {
        await clock.sleep(actMs, signal);
      } catch (error) {
        acts.push({ idem, phase: 'end', ok: false, at: Date.now() });
        throw error;
      }
      acts.push({ idem, phase: 'end', ok: true, at: Date.now() });
      return { idem };
    },
    policies: { concurrency: KEYS.length, timeout: '10s', backpressure: false },
    publish: {},
  });
  return { loop, planned, acts };
}

describe('store outage on a virtual clock (memory store failing on demand)', () => {
  it('opens within 1 s, skips ticks with the reason, 503s readiness, then writes the held results: no item runs twice', async () => {
    const clock = new VirtualClock({ now: T0 });
    const inner = new MemoryStore();
    const { store, state } = faultyStore(inner);
    const work = workLoop(300);
    const { logger, lines } = capturingLogger();
    const runtime = createRuntime({ loops: [work.loop], store, clock, logger, random: () => 0.5 });
    const events: Array<{ type: string; at: number; data: Record<string, unknown> }> = [];
    runtime.bus.onAny((e) => events.push({ type: e.type, at: e.at, data: e.data as Record<string, unknown> }));
    await runtime.start();
    await clock.advance(3_400);
    assert.equal(events.filter((e) => e.type === 'cycle.finished').length, 3);

    // Down mid-cycle: the cycle of the 4th tick has its items sleeping.
    await clock.advanceTo(T0 + 4_100);
    const downAt = clock.now();
    state.down = true;
    await clock.advance(1_000);
    const opened = events.find((e) => e.type === 'breaker.state' && e.data.breaker === 'store' && e.data.to === 'open');
    assert.ok(opened, 'the store breaker opened');
    assert.ok(opened.at - downAt <= 1_000, `opened ${opened.at - downAt} ms after the store went away`);
    await clock.advance(5_000);

    const ready = await runtime.ready();
    assert.equal(ready.healthy, false);
    assert.equal(ready.components.store?.healthy, false);
    assert.equal(ready.components.store?.breaker, 'open');
    assert.match(String(ready.components.store?.detail), /store unavailable: memory:\/\/: connection refused \(test\)/);
    const skips = events.filter((e) => e.type === 'cycle.skipped' && e.at > downAt);
    assert.ok(skips.length >= 5, `ticks during the outage are skipped (${skips.length})`);
    assert.ok(
      skips.every((e) => /^store unavailable: /.test(String(e.data.reason))),
      'each with the reason',
    );
    const held = runtime.outage.held;
    assert.equal(held.items, KEYS.length, 'the cycle in flight handed its unacknowledged items over');
    assert.ok(held.skips >= 5 && held.skips <= OUTAGE_LIMITS.skipsPerLoop);
    const outageLogs = lines.filter((l) => /store unavailable/.test(l.message));
    assert.equal(outageLogs.length, 1, 'the outage is logged once, not once per tick');
    const metrics = await runtime.metrics?.registry.metrics();
    assert.match(metrics ?? '', /autoloop_breaker_state\{breaker="store"\} 1/);
    assert.match(metrics ?? '', /autoloop_store_buffered\{kind="items"\} 5/);

    const upAt = clock.now();
    state.down = false;
    await clock.advance(3_000);
    const firstOk = events.find(
      (e) => e.type === 'cycle.finished' && e.at > upAt && (e.data.outcome as { kind: string }).kind === 'ok',
    );
    assert.ok(firstOk, 'a good cycle after the store returned');
    assert.ok(firstOk.at - upAt <= 7_000);
    assert.ok(runtime.outage.held.items === 0 && runtime.outage.held.skips === 0, 'the outage buffer was written');
    assert.equal((await runtime.ready()).healthy, true);

    // Nothing lost: once the runtime drained, every planned item has a succeeded result in the store.
    await stopVirtual(runtime, clock);
    const done = new Set(state.acked.map((a) => a.idem));
    assert.deepEqual(
      work.planned.filter((p) => !done.has(p.idem)).map((p) => p.idem),
      [],
      'every planned item acknowledged',
    );
    // Their acts ended during the outage: the results were held and written with their fences at replay.
    const caught = work.acts.filter((a) => a.phase === 'start' && a.idem.endsWith('00:00:04.000Z'));
    assert.equal(caught.length, KEYS.length, 'the items of the cycle caught by the outage ran once');
    // ...and were published once each, when the store took them at replay, with their own tick.
    const published = events.filter(
      (e) => e.type === 'result.published' && String(e.data.tickId).endsWith('00:00:04.000Z'),
    );
    assert.deepEqual(
      published.map((e) => e.data.key).sort(),
      [...KEYS].sort(),
      'each held result published once, with its tick',
    );
    assert.ok(
      published.every((e) => e.at >= upAt),
      'published when the store took them, not before',
    );

    // Every tick has exactly one record: ran, or skipped with its reason.
    const records = (await inner.cycles.list('work')).filter((r) => r.trigger === 'cron');
    const ticks = records.map((r) => r.scheduledAt).sort((a, b) => a - b);
    const seconds = ticks.map((t) => (t - T0) / 1000);
    assert.deepEqual(
      seconds,
      Array.from({ length: seconds.length }, (_, i) => i + 1),
      'one record per tick, none missing',
    );
    const skipped = records.filter((r) => r.outcome.kind === 'skipped');
    assert.ok(skipped.length >= 5);
    assert.ok(skipped.every((r) => r.outcome.kind === 'skipped' && /^store unavailable: /.test(r.outcome.reason)));
  });

  it('/health answers 503 as soon as the store breaker opens, without waiting for the next cached report', async () => {
    const clock = new VirtualClock({ now: T0 });
    const { store, state } = faultyStore(new MemoryStore());
    const work = workLoop(300);
    const runtime = createRuntime({
      loops: [work.loop],
      store,
      clock,
      logger: capturingLogger().logger,
      random: () => 0.5,
      http: { host: '127.0.0.1', port: 0, healthIntervalMs: 60_000 },
    });
    await runtime.start();
    try {
      const client = new HttpClient(runtime.url as string);
      await clock.advance(1_400);
      assert.equal((await client.request('/health')).status, 200, 'cached while healthy');
      state.down = true;
      await clock.advance(1_000);
      assert.notEqual(runtime.storeBreaker.breaker.state, 'closed');
      // The interval (60 s) has not passed: the breaker's change alone makes the cached report stale.
      const health = await client.request('/health');
      assert.equal(health.status, 503);
      assert.equal((health.json().components as Record<string, { healthy: boolean }>).store?.healthy, false);
      assert.equal((await client.request('/health/detailed')).status, 503);
    } finally {
      state.down = false;
      await runtime.stop();
    }
  });

  it('a long outage stays bounded: skipped ticks past the cap are counted in the oldest record, events under their cap', async () => {
    const clock = new VirtualClock({ now: T0 });
    const inner = new MemoryStore();
    const { store, state } = faultyStore(inner);
    const work = workLoop(100);
    const runtime = createRuntime({ loops: [work.loop], store, clock, random: () => 0.5 });
    await runtime.start();
    await clock.advance(2_500);
    state.down = true;
    const outageS = OUTAGE_LIMITS.skipsPerLoop + 100;
    for (let s = 0; s < outageS; s += 100) {
      await clock.advance(100_000);
      const { held } = runtime.outage;
      assert.ok(held.skips <= OUTAGE_LIMITS.skipsPerLoop, `skips held ${held.skips}`);
      assert.ok(held.events <= MAX_BUFFERED_EVENTS, `events held ${held.events}`);
      assert.ok(held.items <= OUTAGE_LIMITS.items);
    }
    assert.ok(runtime.outage.dropped.skips >= 90, `dropped ${runtime.outage.dropped.skips}`);
    const metrics = await runtime.metrics?.registry.metrics();
    assert.match(metrics ?? '', new RegExp(`autoloop_store_buffered\\{kind="skips"\\} ${OUTAGE_LIMITS.skipsPerLoop}`));
    assert.match(metrics ?? '', /autoloop_store_buffer_dropped_total\{kind="skips"\} \d{2,}/);
    state.down = false;
    await clock.advance(3_000);
    const skipped = (await inner.cycles.list('work', { limit: 100_000 }))
      .filter((r) => r.outcome.kind === 'skipped')
      .sort((a, b) => a.scheduledAt - b.scheduledAt);
    assert.equal(skipped.length, OUTAGE_LIMITS.skipsPerLoop);
    const oldest = skipped[0];
    const dropped = runtime.outage.dropped.skips;
    assert.match(
      oldest?.outcome.kind === 'skipped' ? oldest.outcome.reason : '',
      new RegExp(`^store unavailable: .*; ${dropped} earlier ticks from .* were missed too`),
    );
    await stopVirtual(runtime, clock);
  });

  it("the store's warnings are logged at start, each at warn", async () => {
    const { logger, lines } = capturingLogger();
    const warning = 'redis redis://127.0.0.1:6379/0: maxmemory-policy is allkeys-lru: Redis may evict leases (test)';
    const store: Store = { ...faultyStore(new MemoryStore()).store, warnings: [warning] };
    const runtime = createRuntime({ loops: [workLoop(10).loop], store, logger });
    await runtime.start({ schedule: false });
    await runtime.stop();
    assert.deepEqual(
      lines.filter((l) => l.level === 'warn').map((l) => l.message),
      [warning],
    );
  });

  it('the event recorder keeps at most its cap of unwritten events, dropping the oldest (counted, logged once)', async () => {
    const clock = new VirtualClock({ now: T0 });
    const { logger, lines } = capturingLogger();
    const written: unknown[] = [];
    let down = true;
    const log = {
      append: async (events: readonly unknown[]) => {
        if (down) throw new StoreError('down (test)');
        written.push(...events);
      },
      after: async () => [],
      latest: async () => [],
    };
    const recorder = new EventRecorder(log, clock, logger);
    const bus = new EventBus({ now: () => clock.now() });
    recorder.start(bus);
    for (let i = 0; i < MAX_BUFFERED_EVENTS + 50; i++) {
      bus.emit('cycle.skipped', { loop: 'l', tickId: `t${i}`, reason: 'store unavailable: x' });
      if (i % 5_000 === 0) await clock.advance(1_000);
    }
    await clock.advance(5_000);
    assert.equal(recorder.buffered, MAX_BUFFERED_EVENTS);
    assert.equal(recorder.dropped, 50);
    assert.equal(lines.filter((l) => l.level === 'error').length, 1, 'the drop is logged once');
    assert.equal(lines.filter((l) => l.level === 'warn').length, 1, 'the failing write is logged once');
    down = false;
    await clock.advance(1_000);
    assert.equal(written.length, MAX_BUFFERED_EVENTS);
    assert.equal((written[0] as { data: { tickId: string } }).data.tickId, 't50', 'the oldest were the ones dropped');
    await recorder.stop();
    assert.equal(clock.pendingTimers, 0);
  });
});

async function stopVirtual(runtime: Runtime, clock: VirtualClock): Promise<void> {
  const stopped = runtime.stop({ graceMs: 5_000 });
  await clock.runUntil(() => runtime.state === 'stopped');
  await stopped;
  assert.equal(clock.pendingTimers, 0, 'no timer leaked');
}

describe('redis-server killed mid-cycle and restarted without persistence (real sockets, real time)', () => {
  let redis: OwnedRedis | undefined;
  after(() => redis?.stop());

  it('breaker open within 1 s, 503 while down, first good cycle within 7 s of Redis returning, tokens monotonic, nothing lost', async () => {
    redis = await startOwnRedis();
    const outageMs = LONG ? 30_000 : 3_000;
    const inner = await openStore(redis.url);
    const { store, state } = faultyStore(inner); // observes acknowledgements only: `down` stays false
    const work = workLoop(400);
    const { logger } = capturingLogger();
    const runtime = createRuntime({
      loops: [work.loop],
      store,
      logger,
      http: { host: '127.0.0.1', port: 0 },
    });
    const events: Array<{ type: string; at: number; data: Record<string, unknown> }> = [];
    runtime.bus.onAny((e) => events.push({ type: e.type, at: Date.now(), data: e.data as Record<string, unknown> }));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    await runtime.start();
    try {
      const client = new HttpClient(runtime.url as string);
      const oks = () =>
        events.filter((e) => e.type === 'cycle.finished' && (e.data.outcome as { kind: string }).kind === 'ok');
      await waitFor('two good cycles', () => oks().length >= 2, 10_000);
      // Kill while items run: an act has started and not ended.
      const running = () => {
        const ended = new Set(work.acts.filter((a) => a.phase === 'end').map((a) => a.idem));
        return work.acts.some((a) => a.phase === 'start' && !ended.has(a.idem));
      };
      await waitFor('an item in flight', running, 5_000);
      const tokensBefore = await Promise.all(
        KEYS.map((k) => runtime.store.leases.currentToken(itemLeaseKey('work', k))),
      );
      assert.ok(tokensBefore.every((t) => t > 0));
      const rssBefore = process.memoryUsage().rss;
      await redis.kill();
      const killedAt = Date.now();

      await waitFor('the store breaker to open', () => runtime.storeBreaker.breaker.state !== 'closed', 2_000);
      const openedAfterMs = Date.now() - killedAt;
      assert.ok(openedAfterMs <= 1_000, `breaker opened ${openedAfterMs} ms after the kill`);

      const ready = await client.request('/health/ready');
      assert.equal(ready.status, 503);
      const store503 = (ready.json().components as Record<string, Record<string, unknown>>).store;
      assert.notEqual(store503?.breaker, 'closed');
      assert.match(String(store503?.detail), /store unavailable: /);
      const detailed = await client.request('/health/detailed');
      assert.equal(detailed.status, 503);
      assert.equal((await client.request('/health/live')).status, 200);

      const heldDuring: number[] = [];
      const until = killedAt + outageMs;
      while (Date.now() < until) {
        const { held } = runtime.outage;
        heldDuring.push(held.items + held.cycles + held.skips + held.events);
        assert.ok(held.items <= OUTAGE_LIMITS.items && held.skips <= OUTAGE_LIMITS.skipsPerLoop);
        assert.ok(held.events <= MAX_BUFFERED_EVENTS);
        await sleep(250);
      }
      const skipsDuring = events.filter((e) => e.type === 'cycle.skipped' && e.at > killedAt);
      assert.ok(
        skipsDuring.length >= Math.floor(outageMs / 1000) - 1,
        `ticks skipped while down: ${skipsDuring.length}`,
      );
      assert.ok(skipsDuring.every((e) => /^store unavailable: /.test(String(e.data.reason))));
      const rssGrowthMb = (process.memoryUsage().rss - rssBefore) / 1e6;

      await redis.restart();
      const upAt = Date.now();
      await waitFor('a good cycle after Redis returned', () => oks().some((e) => e.at > upAt), 7_000);
      const firstOkMs = (oks().find((e) => e.at > upAt)?.at ?? 0) - upAt;

      // Nothing lost: each item planned up to the kill was acknowledged before it, or ran again after Redis returned.
      const rerunAfterUp = new Set(state.acked.filter((a) => a.at > upAt).map((a) => a.idem));
      const ackedBeforeKill = new Set(state.acked.filter((a) => a.at <= killedAt).map((a) => a.idem));
      await waitFor(
        'every unacknowledged item to run again',
        () =>
          work.planned
            .filter((p) => p.at <= killedAt)
            .every((p) => ackedBeforeKill.has(p.idem) || state.acked.some((a) => a.at > upAt && a.idem === p.idem)),
        10_000,
      );
      const rerun = work.planned.filter((p) => p.at <= killedAt && !ackedBeforeKill.has(p.idem));
      assert.ok(rerun.length > 0, 'the kill caught some items unacknowledged');
      void rerunAfterUp;

      const tokensAfter = await Promise.all(
        KEYS.map((k) => runtime.store.leases.currentToken(itemLeaseKey('work', k))),
      );
      KEYS.forEach((key, i) => {
        assert.ok(
          (tokensAfter[i] as number) > (tokensBefore[i] as number),
          `fencing token of ${key}: ${tokensBefore[i]} before the restart, ${tokensAfter[i]} after`,
        );
      });
      assert.equal((await client.request('/health/ready')).status, 200);
      assert.deepEqual(unhandled, [], 'no unhandled rejection');
      // Figures for the report (printed, not asserted: they are timings).
      console.log(
        JSON.stringify({
          openedAfterMs,
          firstOkAfterRedisReturnedMs: firstOkMs,
          rerunItems: rerun.length,
          maxHeldDuringOutage: Math.max(...heldDuring),
          rssGrowthMbDuringOutage: Math.round(rssGrowthMb * 10) / 10,
          outageMs,
        }),
      );
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await runtime.stop({ graceMs: 5_000 });
      await inner.close();
    }
  });
});
