/**
 * Dependency policies end to end, in real time over real HTTP
 * (test/support/latency-server.ts): a circuit breaker that opens on a
 * server outage, short-circuits calls and skips cycles while open,
 * half-opens after its timeout and closes when the server is back; and a
 * 429 with Retry-After that pauses the dependency's shared bucket for every
 * caller. The same wiring on a virtual clock: test/policies-runtime.test.ts.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { defineLoop } from '../src/config/define-loop.ts';
import { RateLimitedError } from '../src/core/errors.ts';
import { parseRetryAfter } from '../src/policies/parse-retry-after.ts';
import { createRuntime, type Runtime } from '../src/runtime/runtime.ts';
import { createLoopHarness } from '../src/testing/loop-harness.ts';
import { VirtualClock } from '../src/time/virtual-clock.ts';
import { type LatencyServer, startLatencyServer } from './support/latency-server.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await predicate())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

async function breakerGauge(runtime: Runtime, name: string): Promise<number | undefined> {
  const text = (await runtime.metrics?.registry.metrics()) ?? '';
  const match = new RegExp(`^autoloop_breaker_state\\{breaker="${name}"\\} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

describe('circuit breaker over real HTTP', () => {
  let server: LatencyServer;
  before(async () => {
    server = await startLatencyServer({ base: 20, knee: 8 });
  });
  after(() => server.close());

  it('opens after 5 failures, short-circuits and skips while open, half-opens after 1 s, closes when the server is back', async (t) => {
    const items = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const loop = defineLoop({
      name: 'calls',
      trigger: { cron: '* * * * * *' },
      observe: () => items,
      act: async (_item, { signal }) => {
        const res = await fetch(server.url, { signal });
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        return res.status;
      },
      // One call at a time, so the breaker's verdict reaches the next item before it calls.
      policies: { uses: ['svc'], concurrency: 1, timeout: '2s' },
    });
    const runtime = createRuntime({
      loops: [loop],
      dependencies: {
        svc: { breaker: { failureThreshold: 5, recoveryTimeout: '1s', halfOpenMaxCalls: 3, successThreshold: 2 } },
      },
    });
    const transitions: Array<{ from: string; to: string; at: number; requests: number }> = [];
    runtime.bus.on('breaker.state', ({ from, to }) =>
      transitions.push({ from, to, at: performance.now(), requests: server.stats().requests }),
    );
    server.set({ outage: '503' });
    const before = server.stats().requests;
    await runtime.start();
    // Dependencies are built when the runtime starts (their shared buckets live in the store).
    const breaker = runtime.dependencies.get('svc')?.breaker;
    assert.ok(breaker);
    try {
      // 1. Opens after exactly 5 failed calls; the 6th item never reaches the server.
      await waitFor('the breaker to open', () => breaker.state === 'open', 3_000);
      assert.equal(await breakerGauge(runtime, 'svc'), 1, 'autoloop_breaker_state reads 1 while open');
      const opened = transitions[0];
      assert.deepEqual([opened?.from, opened?.to], ['closed', 'open']);
      assert.equal((opened?.requests ?? 0) - before, 5, 'the server saw exactly failureThreshold calls');
      const [first] = await runtime.store.cycles.list('calls', { limit: 1 });
      assert.ok(first);
      await waitFor(
        'the first cycle to end',
        async () => (await runtime.store.cycles.get(first.id))?.finishedAt != null,
        3_000,
      );
      const firstItems = await runtime.store.cycles.items(first.id);
      assert.deepEqual(
        firstItems.map((i) => i.error?.name ?? 'none').sort(),
        ['BreakerOpenError', 'BreakerOpenError', 'BreakerOpenError', 'Error', 'Error', 'Error', 'Error', 'Error'],
        'items after the 5th failure are short-circuited',
      );

      // 2. While the outage lasts: ticks are skipped while open, and each half-open period sends one trial,
      // which fails and re-opens the breaker. Nothing reaches the server while it is open.
      await waitFor(
        'a skipped cycle and a failed half-open trial',
        async () => {
          const cycles = await runtime.store.cycles.list('calls');
          const skipped = cycles.some(
            (c) => c.outcome.kind === 'skipped' && c.outcome.reason.startsWith('breaker: svc'),
          );
          return skipped && transitions.some((x) => x.from === 'half-open' && x.to === 'open');
        },
        8_000,
      );
      for (const [i, x] of transitions.entries()) {
        const next = transitions[i + 1];
        if (x.to === 'open' && next) {
          assert.equal(next.to, 'half-open', 'open is left only for half-open');
          assert.equal(next.requests, x.requests, 'no request reached the server while the breaker was open');
          assert.ok(next.at - x.at >= 990, `half-opened ${(next.at - x.at).toFixed(0)} ms after opening`);
        }
        if (x.from === 'half-open' && x.to === 'open') {
          assert.equal(x.requests - (transitions[i - 1]?.requests ?? 0), 1, 'one failed trial call reached the server');
        }
      }
      const skipped = (await runtime.store.cycles.list('calls')).filter((c) => c.outcome.kind === 'skipped');
      const reasons = skipped.map((c) => (c.outcome.kind === 'skipped' ? c.outcome.reason : ''));
      assert.ok(
        reasons.every((r) => /^breaker: svc is open; half-open in \ds$/.test(r)),
        `skip reasons: ${reasons.join(' | ')}`,
      );
      assert.equal(await breakerGauge(runtime, 'svc'), 1);

      // 3. The server recovers: the next half-open period's trials succeed and close the breaker.
      server.set({ outage: false });
      const reopenedAt = transitions.length;
      await waitFor('the breaker to close', () => breaker.state === 'closed', 4_000);
      const closing = transitions.slice(reopenedAt);
      assert.deepEqual(
        closing.map((x) => x.to),
        ['half-open', 'closed'],
      );
      const [halfOpen, closed] = closing;
      assert.equal(
        (closed?.requests ?? 0) - (halfOpen?.requests ?? 0),
        2,
        'successThreshold trial calls reached the server',
      );
      assert.equal(await breakerGauge(runtime, 'svc'), 0, 'autoloop_breaker_state reads 0 after closing');
      await waitFor(
        'an ok cycle',
        async () => (await runtime.store.cycles.list('calls')).some((c) => c.outcome.kind === 'ok'),
        3_000,
      );
      const stats = server.stats();
      const allSkipped = (await runtime.store.cycles.list('calls')).filter((c) => c.outcome.kind === 'skipped');
      t.diagnostic(
        `transitions: ${transitions.map((x) => `${x.to}@${(x.at - (opened?.at ?? 0)).toFixed(0)}ms(req ${x.requests - before})`).join(' ')}; ` +
          `skipped cycles ${allSkipped.length}; server ${JSON.stringify(stats)}`,
      );
    } finally {
      await runtime.stop({ graceMs: 5_000 });
    }
  });

  it("a 429 with Retry-After pauses the dependency's shared bucket for every caller", async (t) => {
    server.set({ outage: false, base: 50, status429: { retryAfter: '1', count: 1 } });
    const starts: Array<{ key: string; at: number }> = [];
    let saw429At: number | undefined;
    const loop = defineLoop({
      name: 'r429',
      trigger: { manual: true },
      observe: () => ['a', 'b', 'c', 'd', 'e', 'f'],
      act: async (item, { signal, clock }) => {
        starts.push({ key: item.key, at: performance.now() });
        const res = await fetch(server.url, { signal });
        await res.arrayBuffer();
        if (res.status === 429) {
          saw429At ??= performance.now();
          const now = clock.now();
          const until = parseRetryAfter(res.headers.get('retry-after'), now) ?? now + 1_000;
          throw new RateLimitedError(`HTTP 429 for ${item.key}`, until - now);
        }
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        return res.status;
      },
      policies: { uses: ['api'], concurrency: 3, retry: { attempts: 2, backoff: '10ms' } },
    });
    const runtime = createRuntime({
      loops: [loop],
      dependencies: { api: { rateLimit: { requests: 100, per: '1s' } } },
    });
    await runtime.start({ schedule: false });
    try {
      const stats0 = server.stats();
      const record = await runtime.run('r429');
      assert.equal(record.outcome.kind, 'ok', JSON.stringify(record.outcome));
      assert.equal(record.counts.succeeded, 6);
      const stats = server.stats();
      assert.equal(stats.rateLimited - stats0.rateLimited, 1);
      assert.equal(stats.requests - stats0.requests, 7, '6 items + 1 retry');
      assert.ok(saw429At !== undefined);
      const t429 = saw429At;
      const later = starts.filter((s) => s.at > t429).map((s) => s.at - t429);
      assert.equal(later.length, 4, 'the 3 items waiting for a slot and the retry start after the 429');
      assert.ok(
        later.every((ms) => ms >= 950),
        `every call after the 429 waits out Retry-After 1 s: ${later.map((ms) => ms.toFixed(0)).join(', ')} ms`,
      );
      t.diagnostic(`calls after the 429 started ${later.map((ms) => ms.toFixed(0)).join(', ')} ms after it`);
    } finally {
      await runtime.stop({ graceMs: 5_000 });
    }
  });
});

describe('a short-circuited call neither waits for nor spends a rate-limit token', () => {
  it('an open breaker fails the rest of the cycle fast, even when the dependency is rate limited', async () => {
    const clock = new VirtualClock({ now: Date.UTC(2026, 0, 1) });
    const loop = defineLoop({
      name: 'ff',
      trigger: { manual: true },
      observe: () => Array.from({ length: 20 }, (_, i) => `k${i}`),
      act: () => {
        throw new Error('HTTP 503');
      },
      policies: { uses: ['svc'], concurrency: 1 },
    });
    const h = await createLoopHarness([loop], {
      clock,
      dependencies: {
        svc: { breaker: { failureThreshold: 1, recoveryTimeout: '1h' }, rateLimit: { requests: 1, per: '1s' } },
      },
    });
    try {
      const started = clock.monotonic();
      const record = await h.runCycle();
      const items = await h.store.cycles.items(record.id);
      assert.equal(items.filter((i) => i.error?.name === 'BreakerOpenError').length, 19);
      // Today: 19 000 ms, one token refill per short-circuited item (and 19 tokens of the shared budget spent).
      assert.ok(clock.monotonic() - started < 1_000, `the cycle took ${clock.monotonic() - started} ms`);
    } finally {
      await h.stop();
    }
  });
});
