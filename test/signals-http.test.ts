/**
 * The signals recipe's HTTP surface: `GET /signals` and `GET /signals/stream`
 * registered on the app `createHttpApp` builds (so the same guards apply),
 * read from a real store.
 *
 * - in process (`app.request`): the JSON shape, the 400/404/405/403/503
 *   answers;
 * - over real sockets, a runtime on the system clock and a SQLite file:
 *   signals made before anyone connected are served, signals stored after
 *   the client's position arrive on the stream (from `result.published` events,
 *   one frame per stored signal), `Last-Event-ID`
 *   resumes without a gap or a duplicate, and no poll is left behind;
 * - the dashboard in headless Chromium: the signals panel shows what the
 *   store holds on load and updates live.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import type { Browser } from 'playwright-core';
import { createFakeHttpSource } from '../src/http/fake-http-source.ts';
import { createHttpServer } from '../src/http/http-server.ts';
import { createHttpApp, type HttpSource } from '../src/http/routes.ts';
import type { Signal } from '../src/recipes/signals/signal.ts';
import { RESULT_PUBLISHED } from '../src/recipes/signals/signals-metrics.ts';
import { signalsRecipe } from '../src/recipes/signals/signals-recipe.ts';
import { mountSignalsRoutes, type SignalsSource, storeSignalsSource } from '../src/recipes/signals/signals-routes.ts';
import { healthReport } from '../src/runtime/health.ts';
import { createRuntime, type Runtime } from '../src/runtime/runtime.ts';
import { MemoryStore } from '../src/storage/memory/memory-store.ts';
import { createLoopHarness, type LoopHarness } from '../src/testing/loop-harness.ts';
import { countingClock, HttpClient, type SseClient, waitFor } from './http-support.ts';
import { launchChromium } from './support/browser.ts';

const SYMBOLS = ['BTC/USD', 'ETH/USD', 'SOL/USD', 'DOGE/USD', 'AVAX/USD'];
const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url));

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function sqlitePath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'autoloop-signals-http-'));
  dirs.push(dir);
  return join(dir, 'state.db');
}

/** The runtime's own HttpSource, as `createRuntime`'s HTTP server builds it (the routes under test are added beside). */
function runtimeHttpSource(runtime: Runtime): HttpSource {
  return {
    health: () => runtime.health(),
    ready: () => runtime.ready(),
    live: () => healthReport({ process: { healthy: true, state: runtime.state } }, runtime.clock.now()),
    metrics: async () => {
      const registry = runtime.metrics?.registry;
      return { contentType: registry?.contentType ?? 'text/plain', body: (await registry?.metrics()) ?? '' };
    },
    snapshot: () => runtime.snapshot(),
    tasks: () => runtime.tasks(),
    cycles: (loop, limit) => runtime.store.cycles.list(loop, { limit }),
    cycle: (id) => runtime.store.cycles.get(id),
    items: (cycleId) => runtime.store.cycles.items(cycleId),
    events: {
      after: (seq, limit) => runtime.store.events.after(seq, { limit }),
      latest: (limit) => runtime.store.events.latest({ limit }),
    },
    admin: {
      loops: () => runtime.loopNames,
      run: (loop) => runtime.run(loop),
      pause: (loop) => runtime.loop(loop).pause(),
      resume: (loop) => runtime.loop(loop).resume(),
      requeue: async (loop, cycleId, item) =>
        (await runtime.store.queue.enqueue(loop, cycleId, [item], null, runtime.clock.now()))[0]?.id,
      shutdown: () => void runtime.stop(),
    },
    security: { token: '', allowedHosts: [], bindHost: '127.0.0.1' },
  };
}

describe('GET /signals and /signals/stream in process (app.request)', () => {
  let h: LoopHarness;
  let app: Hono;
  before(async () => {
    h = await createLoopHarness([signalsRecipe({ symbols: SYMBOLS })], { schedule: false });
    await h.runCycle();
    await h.clock.advance(60_000);
    await h.runCycle();
    app = createHttpApp(createFakeHttpSource());
    mountSignalsRoutes(app, storeSignalsSource({ store: () => h.store, loops: ['signals'], clock: h.clock }));
  });
  after(async () => {
    await h.stop();
  });

  it('the latest signal per symbol from the store, the simulated flag and the event-log position', async () => {
    const res = await app.request('/signals');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = (await res.json()) as {
      loop: string;
      loops: string[];
      signals: Signal[];
      simulated: boolean;
      lastEventId: number;
    };
    const [latestEvent] = await h.store.events.latest({ limit: 1 });
    const [newest] = await h.store.cycles.list('signals', { limit: 1 });
    assert.equal(body.loop, 'signals');
    assert.deepEqual(body.loops, ['signals']);
    assert.equal(body.simulated, true);
    assert.equal(body.lastEventId, latestEvent?.seq);
    assert.deepEqual(
      body.signals.map((s) => s.symbol),
      [...SYMBOLS].sort(),
    );
    for (const signal of body.signals) {
      assert.equal(signal.cycleId, newest?.id, `${signal.symbol}: from the newest cycle`);
      assert.deepEqual(signal.source, { feed: 'simulated random walk (seed 1)', simulated: true });
    }
    assert.deepEqual(await (await app.request('/signals?loop=signals')).json(), body);
  });

  it('bad or unknown query values: a JSON 400 in the one template, a 404 naming the signals loops', async () => {
    const empty = await app.request('/signals?loop=');
    assert.equal(empty.status, 400);
    assert.deepEqual(await empty.json(), {
      error:
        'GET /signals: query loop: expected the name of a signals loop (signals), got an empty value; omit it for the first signals loop',
      field: 'loop',
    });
    const unknown = await app.request('/signals?loop=prices');
    assert.equal(unknown.status, 404);
    assert.deepEqual(await unknown.json(), {
      error: 'unknown signals loop "prices"; signals loops: signals',
      loops: ['signals'],
    });
    assert.equal((await app.request('/signals/stream?loop=prices')).status, 404);
    const after = await app.request('/signals/stream?after=ten');
    assert.equal(after.status, 400);
    assert.match(
      ((await after.json()) as { error: string }).error,
      /^GET \/signals\/stream: query after: expected an event id \(a non-negative integer\), e\.g\. the lastEventId of GET \/signals, got "ten"; omit it to start from now$/,
    );
    const header = await app.request('/signals/stream', { headers: { 'last-event-id': 'x1' } });
    assert.equal(header.status, 400);
    assert.equal(((await header.json()) as { field: string }).field, 'Last-Event-ID');
  });

  it('the same guards as every route: Host allowlist, 405 for other methods; HEAD on the stream', async () => {
    const forbidden = await app.request('http://evil.example/signals', { headers: { host: 'evil.example' } });
    assert.equal(forbidden.status, 403);
    const post = await app.request('/signals', { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    assert.equal((await app.request('/signals/stream', { method: 'DELETE' })).status, 405);
    const head = await app.request('/signals/stream', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.match(head.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(await head.text(), '');
  });

  it('no signals loop: /signals is an empty answer (the dashboard hides its panel), the stream a 404', async () => {
    const none = createHttpApp(createFakeHttpSource());
    mountSignalsRoutes(none, storeSignalsSource({ store: () => h.store, loops: [], clock: h.clock }));
    const res = await none.request('/signals');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { loop: null, loops: [], signals: [], simulated: false, lastEventId: 0 });
    const stream = await none.request('/signals/stream');
    assert.equal(stream.status, 404);
    assert.match(((await stream.json()) as { error: string }).error, /no signals loop runs here/);
  });

  it('a store that cannot be read is a 503 naming what failed, never a 500', async () => {
    const closed = new MemoryStore();
    await closed.close();
    const down = createHttpApp(createFakeHttpSource());
    mountSignalsRoutes(down, storeSignalsSource({ store: () => closed, loops: ['signals'], clock: h.clock }));
    const res = await down.request('/signals');
    assert.equal(res.status, 503);
    assert.match(
      ((await res.json()) as { error: string }).error,
      /^signals: cannot read the signals of "signals": memory: .*the store is closed/,
    );
    assert.equal((await down.request('/signals/stream')).status, 503);
  });
});

describe('GET /signals/stream over real sockets (runtime on the system clock, SQLite file)', () => {
  let runtime: Runtime;
  let server: ReturnType<typeof createHttpServer>;
  let client: HttpClient;
  const clock = countingClock();

  before(async () => {
    runtime = createRuntime({
      loops: [signalsRecipe({ symbols: SYMBOLS.slice(0, 3), trigger: { manual: true } })],
      store: `sqlite://${sqlitePath()}`,
    });
    await runtime.start({ schedule: false });
    const app = createHttpApp(runtimeHttpSource(runtime));
    const source: SignalsSource = storeSignalsSource({ store: () => runtime.store, loops: ['signals'], clock });
    mountSignalsRoutes(app, source, { clock, pollMs: 20 });
    server = createHttpServer({ host: '127.0.0.1', port: 0, app });
    const { url } = await server.start();
    client = new HttpClient(url);
  });
  after(async () => {
    await server?.stop();
    await runtime?.stop({ graceMs: 2_000 });
  });

  const signalFrames = (stream: SseClient) =>
    stream.frames
      .filter((f) => f.event === 'signal')
      .map((f) => ({ id: Number(f.id), ...(JSON.parse(f.data) as { seq: number; loop: string; signal: Signal }) }));

  it('serves signals made before anyone connected, then streams the next ones after that position', async () => {
    const before = await runtime.run('signals');
    const first = (await client.get('/signals')).json() as { signals: Signal[]; lastEventId: number };
    assert.deepEqual(
      first.signals.map((s) => [s.symbol, s.cycleId]),
      [
        ['BTC/USD', before.id],
        ['ETH/USD', before.id],
        ['SOL/USD', before.id],
      ],
    );
    const stream = await client.sse(`/signals/stream?after=${first.lastEventId}`);
    try {
      assert.equal(stream.status, 200);
      assert.match(String(stream.headers['content-type']), /^text\/event-stream/);
      const next = await runtime.run('signals');
      const ofNext = () => signalFrames(stream).filter((f) => f.signal.cycleId === next.id);
      await waitFor('3 signal frames of the new cycle', () => ofNext().length >= 3, 5_000);
      assert.deepEqual(
        ofNext()
          .map((f) => f.signal.symbol)
          .sort(),
        ['BTC/USD', 'ETH/USD', 'SOL/USD'],
      );
      for (const frame of signalFrames(stream)) {
        // The event log is written in batches, so the position /signals read may precede the earlier
        // cycle's events: those signals may come again (never not at all); clients keep the latest per symbol.
        assert.ok([next.id, before.id].includes(frame.signal.cycleId), frame.signal.cycleId);
        assert.equal(frame.loop, 'signals');
        assert.equal(frame.id, frame.seq);
        assert.ok(frame.seq > first.lastEventId);
      }
    } finally {
      stream.close();
    }
  });

  it('a result.published event is one frame as soon as it is logged; its cycle.finished adds no duplicate', async () => {
    const start = ((await client.get('/signals')).json() as { lastEventId: number }).lastEventId;
    const stream = await client.sse(`/signals/stream?after=${start}`);
    try {
      const template = ((await client.get('/signals')).json() as { signals: Signal[] }).signals[0] as Signal;
      const signal: Signal = {
        ...template,
        cycleId: 'published-1',
        tick: 'signals@published',
        generatedAt: clock.now(),
      };
      // The runtime's event for loops whose results are published (typed in signals-metrics.ts until the event map has it).
      const published = {
        loop: 'signals',
        key: signal.symbol,
        cycleId: 'published-1',
        tickId: signal.tick,
        output: signal,
        finishedAt: 0,
      };
      runtime.bus.emit(RESULT_PUBLISHED as never, published as never);
      runtime.bus.emit('result.published' as never, { ...published, output: { not: 'a signal' } } as never);
      runtime.bus.emit('cycle.finished', {
        loop: 'signals',
        cycleId: 'published-1',
        tickId: signal.tick,
        outcome: { kind: 'ok' },
        durationMs: 1,
        counts: { planned: 1, succeeded: 1, failed: 0, skipped: 0 },
      });
      await waitFor('the published signal', () => signalFrames(stream).length >= 1, 5_000);
      await new Promise((resolve) => setTimeout(resolve, 200)); // several polls: nothing more may come
      const frames = signalFrames(stream);
      assert.equal(frames.length, 1);
      assert.deepEqual(frames[0]?.signal, signal);
    } finally {
      stream.close();
    }
  });

  it('Last-Event-ID resumes without a gap or a duplicate; a closed stream leaves no poll behind', async () => {
    const start = ((await client.get('/signals')).json() as { lastEventId: number }).lastEventId;
    const firstStream = await client.sse(`/signals/stream?after=${start}`);
    const one = await runtime.run('signals');
    await waitFor('3 frames', () => signalFrames(firstStream).length >= 3, 5_000);
    firstStream.close();
    const lastId = String(Math.max(...signalFrames(firstStream).map((f) => f.id)));
    const two = await runtime.run('signals'); // stored while nobody listened
    const resumed = await client.sse('/signals/stream', { 'last-event-id': lastId });
    try {
      const three = await runtime.run('signals');
      await waitFor('6 frames', () => signalFrames(resumed).length >= 6, 5_000);
      await new Promise((resolve) => setTimeout(resolve, 150));
      const cycles = signalFrames(resumed).map((f) => f.signal.cycleId);
      assert.deepEqual(
        [cycles.filter((c) => c === two.id).length, cycles.filter((c) => c === three.id).length, cycles.length],
        [3, 3, 6],
        'the cycle stored while disconnected and the next one, each signal once',
      );
      assert.ok(!cycles.includes(one.id), 'nothing from before the resume position');
    } finally {
      resumed.close();
    }
    await waitFor('every stream poll to end', () => clock.pendingSleeps === 0, 3_000);
  });
});

describe('the dashboard signals panel in headless Chromium', () => {
  let runtime: Runtime;
  let server: ReturnType<typeof createHttpServer>;
  let browser: Browser | undefined;
  let url = '';
  let symbols = SYMBOLS;

  before(async () => {
    runtime = createRuntime({
      loops: [signalsRecipe({ symbols: () => symbols, trigger: { manual: true } })],
      store: `sqlite://${sqlitePath()}`,
    });
    await runtime.start({ schedule: false });
    const app = createHttpApp({
      ...runtimeHttpSource(runtime),
      // The recipe's dashboard panel (panel.js, panel.css); its routes are mounted below, polling faster.
      extensions: runtime.recipes.extensions().map(({ path, panel }) => ({ path, ...(panel && { panel }) })),
    });
    mountSignalsRoutes(
      app,
      storeSignalsSource({ store: () => runtime.store, loops: ['signals'], clock: runtime.clock }),
      {
        pollMs: 50,
      },
    );
    server = createHttpServer({ host: '127.0.0.1', port: 0, app });
    url = (await server.start()).url;
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await runtime?.stop({ graceMs: 2_000 });
  });

  it('shows the signals stored before the page opened, labelled simulated, then a new one live', {
    timeout: 60_000,
  }, async () => {
    browser = await launchChromium();
    await runtime.run('signals'); // nobody is connected
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(`${url}/`, { waitUntil: 'load' });

    const panel = page.locator('#signals-panel');
    await panel.waitFor({ state: 'visible', timeout: 10_000 });
    const rows = page.locator('#signals-body tr');
    await waitFor('5 rows', async () => (await rows.count()) === 5, 10_000);
    assert.deepEqual(
      await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-symbol'))),
      [...SYMBOLS].sort(),
    );
    assert.equal(await page.locator('#signals-simulated').isVisible(), true, 'the simulated label shows');
    assert.equal(await page.locator('#signals-simulated').textContent(), 'simulated data');
    const btc = page.locator('#signals-body tr[data-symbol="BTC/USD"]');
    const action = (await btc.locator('.action').getAttribute('data-action')) ?? '';
    assert.ok(['BUY', 'SELL', 'HOLD'].includes(action), action);
    assert.match((await btc.locator('td').nth(2).textContent()) ?? '', /^\d{1,3} %$/);
    assert.match((await btc.locator('td').nth(3).textContent()) ?? '', /^[+-]?\d\.\d\d$/);
    assert.equal(await btc.locator('.sim').isVisible(), true);

    // A signal stored after the page loaded arrives over /signals/stream, without a reload.
    await page.evaluate(() => {
      (window as unknown as { __loaded: number }).__loaded = 1;
    });
    symbols = [...SYMBOLS, 'LINK/USD'];
    await runtime.run('signals');
    await page.locator('#signals-body tr[data-symbol="LINK/USD"]').waitFor({ timeout: 10_000 });
    assert.equal(await rows.count(), 6);
    assert.equal(await page.evaluate(() => (window as unknown as { __loaded?: number }).__loaded), 1, 'no reload');
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'signals-panel.png'), fullPage: true });
    assert.deepEqual(problems, [], 'no console errors, page errors or CSP violations');
  });
});
