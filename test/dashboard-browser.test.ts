/**
 * The dashboard in a real browser: a runtime with real loops serving HTTP on
 * a free port, headless Chromium (Debian's package, driven by
 * playwright-core; see test/support/browser.ts) opening `/`. The page must
 * show the history the store already holds, then a cycle that finishes after
 * it loaded must appear in the timeline and the events list without a
 * reload. Screenshots go to test-output/ (gitignored): dashboard.png at
 * 1280 px, dashboard-narrow.png on a phone-sized screen, dashboard-dark.png
 * with prefers-color-scheme: dark.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { defineLoop } from '../src/config/define-loop.ts';
import { createRuntime, type Runtime } from '../src/runtime/runtime.ts';
import { abortableSleep } from './support/abortable-sleep.ts';
import { launchChromium } from './support/browser.ts';

const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url));
const DESCRIPTION = 'Fetches <b>prices</b> & "quotes" <img src=x>';
const SYMBOLS = ['BTC/USD', 'ETH/USD', 'SOL/USD', 'ADA/USD', 'DOGE/USD', 'XRP/USD'];

const sleep = abortableSleep;

/** Three loops that between them produce every outcome colour within a few seconds. */
function demoLoops() {
  let pricesCycles = 0;
  let reportCycles = 0;
  const prices = defineLoop({
    name: 'prices',
    description: DESCRIPTION,
    trigger: { cron: '* * * * * *', timezone: 'UTC' },
    observe: () => {
      pricesCycles += 1;
      return { n: pricesCycles };
    },
    plan: ({ n }: { n: number }) =>
      SYMBOLS.map((s, i) => ({ key: s, priority: i === 0 ? 'high' : 'medium', payload: { s, n } })),
    act: async (item: { key: string; payload: { s: string; n: number } }, { signal }) => {
      // Every 3rd cycle one lookup fails (partial); every 7th is slow enough to overlap the next tick (skipped).
      await sleep(item.payload.n % 7 === 0 ? 1300 : 40 + ((item.payload.n * 37 + item.key.length * 11) % 160), signal);
      if (item.payload.n % 3 === 0 && item.key === 'DOGE/USD') throw new Error('exchange timeout');
      return { price: 100 + item.payload.n };
    },
    policies: { timeout: '3s', concurrency: 3, uses: ['exchange'], retry: { attempts: 1 } },
  });
  const reports = defineLoop({
    name: 'reports',
    trigger: { interval: '2s' },
    observe: () => {
      reportCycles += 1;
      if (reportCycles % 2 === 0) throw new Error('report source unavailable');
      return ['daily'];
    },
    act: async (_item, { signal }) => sleep(30, signal),
  });
  const cleanup = defineLoop({
    name: 'cleanup',
    trigger: { interval: '1h' },
    act: () => null,
  });
  return [prices, reports, cleanup];
}

describe('dashboard in headless Chromium', () => {
  let runtime: Runtime;
  let browser: Browser;
  let url: string;

  before(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    runtime = createRuntime({
      loops: demoLoops(),
      store: 'memory://',
      http: { host: '127.0.0.1', port: 0 },
      dependencies: { exchange: { breaker: { failureThreshold: 50 } } },
      shutdownGraceMs: 2000,
    });
    await runtime.start();
    runtime.loop('cleanup').pause();
    url = runtime.url as string;
    assert.ok(url, 'the runtime serves HTTP');
  });

  after(async () => {
    await browser?.close();
    await runtime?.stop();
  });

  it('shows the stored history, then a cycle arriving live without a reload; saves screenshots', {
    timeout: 90_000,
  }, async () => {
    // In the test, not a hook: a missing browser is a failure (with the install command), not a cancellation.
    browser = await launchChromium();
    // History first: cycles that ran before anyone opened the page.
    await waitUntil(async () => (await runtime.store.cycles.list('prices', { limit: 5 })).length >= 2, 10_000);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => {
      if (!r.url().endsWith('/events')) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
    });

    const response = await page.goto(`${url}/`, { waitUntil: 'load' });
    assert.equal(response?.status(), 200);
    assert.match((await response?.headerValue('content-security-policy')) ?? '', /default-src 'self'/);

    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });
    const prices = page.locator('[data-loop="prices"]');
    await prices.locator('.timeline li').first().waitFor({ timeout: 10_000 });
    await page.evaluate(() => {
      (window as unknown as { __loadedOnce: number }).__loadedOnce = 1;
    });

    // What the page showed right after loading.
    const initial = await prices
      .locator('.timeline li')
      .evaluateAll((cells) =>
        cells.filter((c) => c.getAttribute('data-outcome') !== 'running').map((c) => c.getAttribute('data-tick')),
      );
    assert.ok(initial.length >= 1, 'history from the store is shown on load');
    const initialSeq = await page
      .locator('#event-list li')
      .evaluateAll((rows) => Math.max(0, ...rows.map((r) => Number(r.getAttribute('data-seq')))));

    // A cycle that finishes after the page loaded arrives over SSE.
    await page.waitForFunction(
      ({ known, seq }) => {
        const cells = [...document.querySelectorAll('[data-loop="prices"] .timeline li')];
        const newCell = cells.some(
          (c) =>
            ['ok', 'partial', 'failed'].includes(c.getAttribute('data-outcome') ?? '') &&
            !known.includes(c.getAttribute('data-tick')),
        );
        const rows = [...document.querySelectorAll('#event-list li[data-type="cycle.finished"]')];
        const newRow = rows.some((r) => Number(r.getAttribute('data-seq')) > seq);
        return newCell && newRow;
      },
      { known: initial, seq: initialSeq },
      { timeout: 15_000, polling: 100 },
    );
    assert.equal(
      await page.evaluate(() => (window as unknown as { __loadedOnce?: number }).__loadedOnce),
      1,
      'the page was not reloaded',
    );

    // Let a few more cycles and polls arrive so the screenshot shows every colour and the sparklines.
    await page
      .waitForFunction(
        () =>
          ['partial', 'skipped', 'failed'].every((kind) =>
            document.querySelector(`.timeline li[data-outcome="${kind}"]`),
          ) && document.querySelectorAll('[data-loop="prices"] .spark polyline').length >= 2,
        undefined,
        { timeout: 12_000, polling: 250 },
      )
      .catch(() => {}); // only for the picture; what the test requires is checked above and below

    await checkPage(page);
    await page.screenshot({ path: `${OUTPUT}dashboard.png`, fullPage: true });

    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: `${OUTPUT}dashboard-dark.png`, fullPage: true });

    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling on a narrow screen (overflow ${overflow}px)`);
    await page.screenshot({ path: `${OUTPUT}dashboard-narrow.png`, fullPage: true });

    assert.deepEqual(problems, [], 'no console errors (CSP violations included), page errors or failed requests');
    await page.close();
  });
});

/** What the page must show once it has data. */
async function checkPage(page: Page): Promise<void> {
  const prices = page.locator('[data-loop="prices"]');
  // Text from the runtime is text: the description's markup is shown, not parsed.
  assert.equal(await prices.locator('.description').textContent(), DESCRIPTION);
  assert.equal(await prices.locator('.description b, .description img').count(), 0);

  assert.equal(await prices.locator('[data-field="schedule"]').textContent(), 'cron * * * * * * (UTC)');
  assert.match((await prices.locator('[data-field="next"]').textContent()) ?? '', /^(in \d+ s|due now)$/);
  assert.match((await prices.locator('[data-field="inflight"]').textContent()) ?? '', /^\d+ of 3$/);
  assert.match((await prices.locator('[data-field="state"]').textContent()) ?? '', /^(running|idle)$/);
  assert.equal(await page.locator('[data-loop="cleanup"] [data-field="state"]').textContent(), 'paused');
  assert.equal(await page.locator('[data-loop="cleanup"] [data-field="next"]').textContent(), 'paused');

  // Timeline cells carry their details for mouse (title) and screen readers (text).
  const cell = prices.locator('.timeline li[data-outcome="ok"], .timeline li[data-outcome="partial"]').last();
  const title = (await cell.getAttribute('title')) ?? '';
  assert.match(title, /^(ok|partial)\ntick .+ \(cron\)\ntook \d/);
  assert.match(title, /6 planned, \d ok, \d failed, 0 skipped/);
  assert.match((await cell.textContent()) ?? '', /^(ok|partial), tick /);
  await cell.hover();
  assert.match((await prices.locator('[data-field="detail"]').textContent()) ?? '', /^(ok|partial) · tick /);

  assert.equal(await page.locator('#deps-body tr[data-dependency="exchange"] .badge').textContent(), 'closed');
  assert.equal(await page.locator('#queue-head th').first().textContent(), 'Loop');
  assert.ok((await page.locator('#event-list li').count()) <= 50, 'at most the last 50 events');
  assert.equal(await page.locator('#runtime-state').textContent(), 'running');
  assert.ok((await page.locator('#instances-list li .owner').count()) >= 1);
  assert.equal(await page.locator('#error').isHidden(), true, 'no error banner');
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(50);
  }
}
