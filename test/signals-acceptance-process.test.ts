/**
 * Seed 002's acceptance checklist (issue 6) against the real `autoloop`
 * binary: `autoloop start --foreground` on a YAML config with
 * `recipe: signals`, a SQLite file, the LLM stage pointed at the stand-in
 * OpenAI-compatible server (test/support/llm-server.ts) through LLM_BASE_URL,
 * and everything read the way a user reads it: HTTP (`/signals`,
 * `/signals/stream`, `/metrics`, `/health/*`, `/loops/signals/cycles`,
 * `/events`), the store file, the JSON log on stdout, exit codes.
 *
 * | box | where it is proven |
 * | --- | --- |
 * | 1. 20 symbols every cycle | test/signals-recipe.test.ts "20 symbols give 20 signals every minute, ..." (virtual clock); here: "1. ..." (YAML, real process, /signals) |
 * | 2. parallel processing | here: "2. ..." (stand-in at 300 ms, concurrency 10) |
 * | 3. overrun protection | test/signals-recipe.test.ts "per-symbol overrun protection: ..." (a symbol leased by another process is skipped with the reason) |
 * | 4. stale lock recovery | here: "4. ..." (SIGKILL, a peer process takes over); test/guarantees-takeover.test.ts |
 * | 5. circuit breaker | test/signals-acceptance.test.ts "5 + 11. ..." (skips with the reason, CircuitBreakerOpen fires and resolves); test/signals-llm.test.ts (over real HTTP) |
 * | 6. adaptive batch size | test/signals-acceptance.test.ts "6. ..." (the recipe, adaptive_batch_size); test/adaptive-http.test.ts (real HTTP) |
 * | 7. failed symbols don't block others | test/signals-acceptance.test.ts "7 + 8 + 9 + 10. ..."; test/signals-recipe.test.ts "a failing stage fails only its symbol, ..." |
 * | 8. dashboard with no users connected | test/signals-http.test.ts "shows the signals stored before the page opened, ..." (Chromium); test/signals-http.test.ts "serves signals made before anyone connected, ..." |
 * | 9. metrics | test/signals-acceptance.test.ts "7 + 8 + 9 + 10. ..." (seed names and values); test/signals-recipe.test.ts "indicators -> analyse -> advise (LLM) -> ..." |
 * | 10. health endpoints | test/http-health.test.ts; test/signals-acceptance.test.ts (ready, detailed components); here: "12. ..." (ready 503 while stopping, live 200) |
 * | 11. alerts | src/observability/alerts/default-rules.test.ts (each of the seven fires and resolves); test/signals-acceptance.test.ts (CircuitBreakerOpen in a signals runtime) |
 * | 12. graceful shutdown | here: "12. ..." (SIGTERM mid-cycle, exit 0) |
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, describe, it } from 'node:test';
import type { CycleRecord } from '../src/core/cycle-record.ts';
import { readSignal, type Signal } from '../src/recipes/signals/signal.ts';
import { SEED_SYMBOLS } from '../src/recipes/signals/signals-recipe.ts';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { HttpClient, waitFor } from './http-support.ts';
import { finished, spawnAutoloop } from './support/cli.ts';
import { LONG } from './support/guarantees-children.ts';
import { type LlmServer, type LlmServerOptions, type RecordedRequest, startLlmServer } from './support/llm-server.ts';

const TTL = LONG ? 10_000 : 3_000;

const dirs: string[] = [];
const children: ChildProcess[] = [];
const servers: LlmServer[] = [];
after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const server of servers) await server.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function standIn(options: LlmServerOptions = {}): Promise<LlmServer> {
  const llm = await startLlmServer(options);
  servers.push(llm);
  return llm;
}

interface Setup {
  trigger?: string;
  policies?: string;
  grace?: string;
  extra?: string;
}

/** A directory with an autoloop.yaml running the signals recipe on ./state.db, the LLM stage on. */
function configDir({
  trigger = '{ interval: 2s }',
  policies = '{ concurrency: 10, adaptive: false }',
  grace = '10s',
  extra = '',
}: Setup = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'autoloop-signals-acceptance-'));
  dirs.push(dir);
  writeFileSync(
    join(dir, 'autoloop.yaml'),
    `store: sqlite://./state.db
http: { host: 127.0.0.1 }
shutdown: { grace: ${grace} }
leases: { ttl: ${TTL}ms }
dependencies:
  llm_service:
    breaker: { failureThreshold: 5, recoveryTimeout: 1s, halfOpenMaxCalls: 3, successThreshold: 2 }
    rateLimit: { requests: 10000, per: 1m }
loops:
  signals:
    recipe: signals
    trigger: ${trigger}
    market: { simulated: { seed: 42 } }
    llm: { stages: [advise], timeout: 8s }
    policies: ${policies}
${extra}`,
  );
  return dir;
}

type Autoloop = ReturnType<typeof spawnAutoloop> & { http: HttpClient; url: string };

/** `autoloop start --foreground` in `dir`, on a free port, its LLM stage on `llm`; resolves once it listens. */
async function start(dir: string, llm: LlmServer, file = 'autoloop.yaml'): Promise<Autoloop> {
  const child = spawnAutoloop(['start', '--foreground', '--config', join(dir, file), '--port', '0'], {
    cwd: dir,
    env: { LLM_BASE_URL: llm.baseURL, LLM_API_KEY: llm.apiKey, LLM_MODEL: 'stand-in', AUTOLOOP_TOKEN: '' },
  });
  children.push(child);
  await waitFor(
    'autoloop to listen',
    () => /health (http:\/\/127\.0\.0\.1:\d+)\/health/.test(child.output.stderr),
    // Start-up is not a promised bound: a loaded machine may take long to load the CLI.
    60_000,
  ).catch((error) => {
    throw new Error(`${error}\nstderr: ${child.output.stderr}\nstdout: ${child.output.stdout}`);
  });
  const url = /health (http:\/\/127\.0\.0\.1:\d+)\/health/.exec(child.output.stderr)?.[1] as string;
  return Object.assign(child, { http: new HttpClient(url), url });
}

/** SIGTERM and wait for the exit. */
async function stop(app: Autoloop): Promise<void> {
  if (app.exitCode !== null || app.signalCode !== null) return;
  app.kill('SIGTERM');
  await finished(app, 60_000);
}

async function cycles(app: Autoloop): Promise<CycleRecord[]> {
  const reply = await app.http.get('/loops/signals/cycles?limit=100');
  assert.equal(reply.status, 200, reply.body);
  const body = reply.json() as { cycles?: CycleRecord[] } | CycleRecord[];
  return Array.isArray(body) ? body : (body.cycles ?? []);
}

/** The symbol a completion request was for, read from its prompt. */
function promptOf(request: RecordedRequest | undefined): { symbol: string } | null {
  const user = request?.request?.messages.find((m) => m.role === 'user')?.content ?? '';
  const symbol = /^Symbol: (\S+)$/m.exec(user)?.[1];
  return symbol ? { symbol } : null;
}

function logLines(app: Autoloop): Array<Record<string, unknown>> {
  return app.output.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const BOX = { timeout: LONG ? 300_000 : 180_000 };

describe('1. Signals generated for 20 symbols every 1 minute', BOX, () => {
  it('YAML recipe: signals in a real process: /signals lists the 20 symbols after one cycle', async () => {
    const llm = await standIn({ latency: 20 });
    const app = await start(configDir(), llm);
    try {
      await waitFor('one ok cycle', async () => (await cycles(app)).some((c) => c.outcome.kind === 'ok'), 30_000);
      const [first] = (await cycles(app)).filter((c) => c.outcome.kind === 'ok');
      assert.deepEqual(first?.counts, { planned: 20, succeeded: 20, failed: 0, skipped: 0 });
      const reply = await app.http.get('/signals');
      assert.equal(reply.status, 200);
      const { signals } = reply.json() as { signals: Signal[] };
      assert.deepEqual(signals.map((s) => s.symbol).sort(), [...SEED_SYMBOLS].sort());
      for (const signal of signals) {
        assert.ok(readSignal(signal).ok, signal.symbol);
        assert.equal(signal.source?.simulated, true, `${signal.symbol} is labelled simulated`);
        assert.ok(
          signal.reasons.some((r) => r.startsWith('advise: ')),
          `${signal.symbol} went through the LLM stage`,
        );
      }
      assert.ok((llm.stats().outcomes.ok ?? 0) >= 20, 'one advise call per symbol');
    } finally {
      await stop(app);
    }
  });
});

describe('2. Parallel processing via batched subagent invocation', BOX, () => {
  it('LLM at 300 ms, concurrency 10: 10 calls in flight at once, a 20-symbol cycle takes about 2 rounds, not 20', async (t) => {
    const llm = await standIn({ latency: 300 });
    const app = await start(configDir({ trigger: '{ interval: 5s }' }), llm);
    try {
      await waitFor('one ok cycle', async () => (await cycles(app)).some((c) => c.outcome.kind === 'ok'), 30_000);
      const cycle = (await cycles(app)).find((c) => c.outcome.kind === 'ok') as CycleRecord;
      const ms = (cycle.finishedAt ?? 0) - cycle.startedAt;
      t.diagnostic(
        `20 symbols at 300 ms each, concurrency 10: cycle ${ms} ms; stand-in max in flight ${llm.stats().maxInflight}`,
      );
      assert.equal(llm.stats().maxInflight, 10, 'the stand-in saw 10 calls at once, never more');
      assert.ok(ms >= 2 * 300, `${ms} ms: 20 calls of 300 ms, 10 at a time, need at least 2 rounds`);
      // 10 at a time is shown by maxInflight; the duration only has to rule out one call at a time.
      assert.ok(ms < 20 * 300, `${ms} ms: not serial (20 rounds would be 6000 ms)`);
    } finally {
      await stop(app);
    }
  });
});

describe('12. Graceful shutdown completes in-flight work', BOX, () => {
  it('SIGTERM during a cycle of 2 s LLM calls: in-flight symbols finish and are stored, leases released, exit 0 within the grace', async (t) => {
    const llm = await standIn({ latency: 2_000 });
    const dir = configDir({ trigger: '{ interval: 3s }', grace: '10s' });
    const app = await start(dir, llm);
    let exited: Awaited<ReturnType<typeof finished>> | undefined;
    try {
      await waitFor('10 LLM calls in flight', () => llm.stats().inflight === 10, 30_000);
      const sent = performance.now();
      app.kill('SIGTERM');
      // 10. readiness: 503 while the runtime is stopping, liveness still 200.
      let ready = await app.http.get('/health/ready');
      await waitFor(
        '/health/ready to say 503',
        async () => {
          ready = await app.http.get('/health/ready');
          return ready.status === 503;
        },
        1_500,
      ).catch(() => {});
      const live = await app.http.get('/health/live');
      exited = await finished(app, 15_000);
      const tookMs = Math.round(performance.now() - sent);
      t.diagnostic(
        `SIGTERM with 10 calls of 2 s in flight: exit ${exited.code} after ${tookMs} ms (grace 10 s); ready ${ready.status} while stopping`,
      );
      assert.equal(exited.code, 0, exited.stderr);
      assert.ok(tookMs < 10_000 + 2_000, `${tookMs} ms: within the grace period`);
      assert.equal(ready.status, 503, `ready while stopping: ${ready.body}`);
      assert.equal(live.status, 200);
      const drained = logLines(app).find((l) => l.msg === 'stopped');
      assert.equal(drained?.drained, true, 'the log says it drained');
    } finally {
      if (!exited) await stop(app);
    }
    const calls = llm.requests();
    const inFlight = calls.map((r) => promptOf(r)?.symbol);
    assert.ok(calls.length >= 10);
    assert.deepEqual(
      calls.filter((r) => r.outcome !== 'ok'),
      [],
      'no LLM call was cut by the shutdown: each was answered',
    );
    const store = SqliteStore.open(join(dir, 'state.db'));
    try {
      const [cycle] = await store.cycles.list('signals', { limit: 1 });
      assert.ok(cycle, 'the cycle was recorded');
      const items = await store.cycles.items(cycle.id);
      const succeeded = items.filter((i) => i.status === 'succeeded').map((i) => i.key);
      assert.deepEqual(
        succeeded.sort(),
        [...inFlight].sort(),
        'every symbol whose call started has its signal stored, and no other',
      );
      for (const item of items.filter((i) => i.status === 'succeeded')) assert.ok(readSignal(item.output).ok, item.key);
      for (const symbol of SEED_SYMBOLS) {
        const lease = await store.leases.acquire(`signals/${symbol}`, 'test:after-exit', 1_000, Date.now());
        assert.ok(lease, `signals/${symbol}: the lease was released`);
      }
    } finally {
      await store.close();
    }
  });
});

describe('12. Graceful shutdown starts nothing new', BOX, () => {
  it('SIGTERM with 10 calls in flight and 10 symbols waiting: nothing starts after the signal, the 10 waiting run in the next process', async () => {
    const llm = await standIn({ latency: 2_500 });
    const dir = configDir({ trigger: '{ interval: 3s }', grace: '20s' });
    const app = await start(dir, llm);
    let sentAt = 0;
    try {
      await waitFor('10 LLM calls in flight', () => llm.stats().inflight === 10, 30_000);
      sentAt = performance.now();
      app.kill('SIGTERM');
      const exited = await finished(app, 30_000);
      assert.equal(exited.code, 0, exited.stderr);
    } finally {
      if (app.exitCode === null && app.signalCode === null) app.kill('SIGKILL');
    }
    const first = llm.requests();
    const late = first.filter((r) => r.arrivedAt > sentAt);
    assert.deepEqual(
      late.map((r) => promptOf(r)?.symbol),
      [],
      'no LLM call arrived after SIGTERM',
    );
    assert.equal(first.length, 10, 'only the 10 in flight were called');
    assert.deepEqual(
      first.filter((r) => r.outcome !== 'ok'),
      [],
      'each call in flight was answered',
    );
    const calledFirst = new Set(first.map((r) => promptOf(r)?.symbol));
    const waiting = SEED_SYMBOLS.filter((s) => !calledFirst.has(s));
    assert.equal(waiting.length, 10);
    let store = SqliteStore.open(join(dir, 'state.db'));
    let interrupted: CycleRecord | undefined;
    try {
      [interrupted] = await store.cycles.list('signals', { limit: 1 });
      assert.equal(interrupted?.outcome.kind, 'failed');
      assert.match(
        interrupted?.outcome.kind === 'failed' ? interrupted.outcome.error.message : '',
        /^interrupted by shutdown: 10 item\(s\) returned to the queue/,
      );
      assert.deepEqual(interrupted?.counts, { planned: 20, succeeded: 10, failed: 0, skipped: 0 });
      const queued = await store.queue.list('signals');
      assert.deepEqual(
        queued.map((q) => q.key).sort(),
        [...waiting].sort(),
        'the 10 not started are back in the queue',
      );
      assert.ok(
        queued.every((q) => q.claim === null),
        'unclaimed',
      );
    } finally {
      await store.close();
    }

    // The next process's first cycle adopts them (and plans its own tick's 20).
    const next = await start(dir, llm);
    try {
      await waitFor(
        'the queue to drain',
        async () => {
          const reader = SqliteStore.open(join(dir, 'state.db'));
          try {
            return (await reader.queue.list('signals')).length === 0;
          } finally {
            await reader.close();
          }
        },
        30_000,
      );
    } finally {
      next.kill('SIGTERM');
      await finished(next, 30_000);
    }
    store = SqliteStore.open(join(dir, 'state.db'));
    try {
      const cycles = await store.cycles.list('signals', { limit: 10 });
      const adopted = new Set<string>();
      for (const cycle of cycles.filter((c) => c.id !== interrupted?.id)) {
        for (const item of await store.cycles.items(cycle.id)) {
          if (item.status === 'succeeded' && item.idempotencyKey === `${item.key}@${interrupted?.tickId}`) {
            adopted.add(item.key);
          }
        }
      }
      assert.deepEqual([...adopted].sort(), [...waiting].sort(), 'each waiting symbol ran once, for its original tick');
    } finally {
      await store.close();
    }
  });
});

describe('4. Stale lock recovery via heartbeat mechanism', BOX, () => {
  it(`SIGKILL a process mid-LLM-call: a peer process takes over every symbol within TTL + 2 s (TTL ${TTL} ms), each (symbol, tick) stored once`, async (t) => {
    const llm = await standIn({ latency: 4_000 });
    const dir = configDir({ trigger: '{ interval: 2s }' });
    const victim = await start(dir, llm);
    await waitFor('10 LLM calls in flight', () => llm.stats().inflight >= 10, 30_000);
    // The peer runs no ticks of its own (manual trigger): every LLM call after the kill is a takeover.
    const yaml = readFileSync(join(dir, 'autoloop.yaml'), 'utf8').replace(
      'trigger: { interval: 2s }',
      'trigger: { manual: true }',
    );
    writeFileSync(join(dir, 'peer.yaml'), yaml);
    const peer = await start(dir, llm, 'peer.yaml');
    try {
      victim.kill('SIGKILL');
      const killedAt = performance.now();
      await finished(victim, 5_000);
      const store = SqliteStore.open(join(dir, 'state.db'));
      try {
        const all = await store.cycles.list('signals', { limit: 10 });
        const victimCycle = all.find((c) => c.finishedAt === null);
        assert.ok(
          victimCycle,
          `the killed process's cycle is unfinished: ${JSON.stringify(all.map((c) => c.outcome))}`,
        );
        // The peer marks the dead process's cycle abandoned and re-runs its items in a recovery cycle.
        let recovery: CycleRecord | undefined;
        await waitFor(
          'a recovery cycle storing every symbol of the killed tick',
          async () => {
            recovery = (await store.cycles.list('signals', { limit: 10 })).find(
              (c) => c.tickId.startsWith('signals@recovery:') && c.finishedAt !== null,
            );
            return recovery !== undefined;
          },
          TTL + 15_000,
        );
        assert.ok(recovery);
        assert.deepEqual(recovery.counts, { planned: 20, succeeded: 20, failed: 0, skipped: 0 });
        const abandoned = (await store.cycles.list('signals', { limit: 10 })).find((c) => c.id === victimCycle.id);
        assert.equal(abandoned?.outcome.kind === 'failed' && abandoned.outcome.error.name, 'AbandonedCycle');
        const items = await store.cycles.items(recovery.id);
        assert.deepEqual(items.map((i) => i.key).sort(), [...SEED_SYMBOLS].sort(), 'each symbol once');
        for (const item of items) {
          assert.equal(item.status, 'succeeded', item.key);
          assert.equal(item.idempotencyKey, `${item.key}@${victimCycle.tickId}`);
          const read = readSignal(item.output);
          assert.ok(read.ok, item.key);
          assert.equal(read.signal.tick, victimCycle.tickId, 'a re-run signal is about the tick that planned it');
        }
        // When the peer started each re-run: its LLM call for the killed tick, after the kill.
        const reruns = new Map<string, number>();
        for (const r of llm.requests()) {
          const p = promptOf(r);
          if (p && r.arrivedAt > killedAt && !reruns.has(p.symbol)) reruns.set(p.symbol, r.arrivedAt);
        }
        const cut = llm.requests().filter((r) => r.arrivedAt < killedAt && r.outcome !== 'ok');
        const takeover = [...reruns.values()].map((at) => Math.round(at - killedAt));
        const slowest = Math.max(...takeover);
        t.diagnostic(
          `SIGKILL with ${cut.length} calls cut: the peer re-ran ${reruns.size} symbol(s) of tick ${victimCycle.tickId}; first takeover ${Math.min(...takeover)} ms, slowest ${slowest} ms (TTL ${TTL} ms)`,
        );
        assert.ok(cut.length >= 10, 'the killed process held symbols mid-call');
        for (const r of cut)
          assert.ok(reruns.has(promptOf(r)?.symbol ?? ''), `${promptOf(r)?.symbol} re-run by the peer`);
        // The peer takes the work over (its recovery cycle's first calls) within TTL + 2 s; the recovery
        // cycle then runs the 20 symbols at the loop's concurrency (10), so the last ones start a round later.
        const first = Math.min(...takeover);
        assert.ok(first <= TTL + 2_000, `takeover ${first} ms after the kill > TTL + 2 s`);
        assert.ok(
          recovery.startedAt - Date.now() + (performance.now() - killedAt) <= TTL + 2_000,
          'recovery cycle started within TTL + 2 s',
        );
      } finally {
        await store.close();
      }
    } finally {
      await stop(peer);
    }
  });
});
