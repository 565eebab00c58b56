/**
 * Acting from the dashboard in a real browser: a runtime on a SQLite file
 * with an admin token serves HTTP on 127.0.0.1; headless Chromium (Debian's
 * package through playwright-core) opens the failed-items view, opens a
 * failed item on its cycle page, retries it with the token typed once, and
 * sees it succeed live; pauses and resumes a loop from the overview; reloads
 * and finds the charts' history (read from the store) drawn again. axe-core
 * runs in the page on the overview, the cycle page and the failed view: no
 * serious or critical violations. Screenshots of the cycle page and the
 * failed view go to test-output/ (gitignored).
 *
 * The page runs with `bypassCSP` only so axe's script can be injected; the
 * CSP itself is checked by test/dashboard-browser.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { defineLoop } from '../src/config/define-loop.ts';
import type { CycleRecord } from '../src/core/cycle-record.ts';
import { createRuntime, type Runtime } from '../src/runtime/runtime.ts';
import { testToken, waitFor } from './http-support.ts';
import { abortableSleep } from './support/abortable-sleep.ts';
import { launchChromium } from './support/browser.ts';

const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url));
const AXE = readFileSync(fileURLToPath(new URL('../node_modules/axe-core/axe.min.js', import.meta.url)), 'utf8');
const TOKEN = testToken();

const sleep = abortableSleep;

describe('acting from the dashboard in headless Chromium', () => {
  let dir: string;
  let runtime: Runtime;
  let browser: Browser;
  let page: Page;
  let url: string;
  let failing = true;
  let first: CycleRecord;

  before(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'autoloop-dashboard-actions-'));
    let plans = 0;
    const orders = defineLoop({
      name: 'orders',
      description: 'Settles orders with the payment provider',
      trigger: { manual: true },
      // Only the first cycle plans; later cycles run what was queued again (the retry).
      plan: () =>
        ++plans === 1
          ? Array.from({ length: 8 }, (_, i) => ({ key: `order-${i + 1}`, payload: { order: i + 1, amount: 25 * i } }))
          : [],
      act: async (item: { key: string; payload: { order: number } }, { signal }) => {
        await sleep(20 + item.payload.order * 5, signal);
        if (item.key === 'order-7' && failing) throw new Error('payment provider answered 502 for order 7');
        return { settled: item.payload.order };
      },
      policies: { concurrency: 4 },
    });
    const prices = defineLoop({
      name: 'prices',
      trigger: { interval: '1s' },
      plan: () => ['BTC/USD', 'ETH/USD', 'SOL/USD'].map((key) => ({ key })),
      act: async (item: { key: string }, { signal }) => sleep(30 + item.key.length * 5, signal),
      policies: { concurrency: 2 },
    });
    // Slow items one at a time: the queue holds some of them for several seconds after a run-now.
    const batch = defineLoop({
      name: 'batch',
      trigger: { manual: true },
      plan: () => Array.from({ length: 6 }, (_, i) => ({ key: `part-${i + 1}` })),
      act: async (_item, { signal }) => sleep(1200, signal),
      policies: { concurrency: 1 },
    });
    runtime = createRuntime({
      loops: [orders, prices, batch],
      store: `sqlite://${join(dir, 'state.db')}`,
      http: { host: '127.0.0.1', port: 0, token: TOKEN },
      shutdownGraceMs: 2000,
    });
    await runtime.start();
    url = runtime.url as string;
    first = await runtime.run('orders');
  });

  after(async () => {
    await browser?.close();
    await runtime?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens a failed item from the failed list, retries it with the token typed once, sees it succeed live', {
    timeout: 120_000,
  }, async () => {
    assert.equal(first.outcome.kind, 'partial', 'order-7 failed in the first cycle');
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: 'light', bypassCSP: true });
    const problems = watchProblems(page);

    await page.goto(`${url}/#/failed`, { waitUntil: 'load' });
    const row = page.locator('#view tr[data-key="order-7"]');
    await row.waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('#nav a[aria-current="page"]').textContent(), 'Failed items');
    assert.match((await row.textContent()) ?? '', /payment provider answered 502 for order 7/);
    assert.match((await row.locator('.owner').textContent()) ?? '', new RegExp(literal(first.owner)));
    await page.screenshot({ path: `${OUTPUT}dashboard-failed.png`, fullPage: true });
    await checkAccessibility(page, 'failed view');

    // Open it: the cycle page with the item selected, its payload, error, attempts and instance.
    await page.evaluate(() => {
      (window as unknown as { __sameDocument: number }).__sameDocument = 1;
    });
    await row.getByRole('link', { name: 'order-7' }).click();
    const item = page.locator('#view tr[data-key="order-7"][data-selected="true"]');
    await item.waitFor({ timeout: 10_000 });
    assert.match((await page.locator('#view-heading').textContent()) ?? '', /^Cycle of orders partial$/);
    assert.deepEqual(JSON.parse((await item.locator('[data-field="payload"]').textContent()) ?? ''), {
      order: 7,
      amount: 150,
    });
    assert.match((await item.locator('[data-field="result"]').textContent()) ?? '', /502 for order 7/);
    assert.equal(await page.locator('#view tr[data-key]').count(), 8, 'every item of the cycle');
    assert.deepEqual(
      JSON.parse((await page.locator('#view tr[data-key="order-1"] [data-field="result"]').textContent()) ?? ''),
      { settled: 1 },
    );
    assert.equal(await page.locator('#view svg.gantt rect.bar').count(), 8, 'one timeline bar per item');
    assert.match((await page.locator('#view .cycle-facts').textContent()) ?? '', new RegExp(literal(first.owner)));
    await page.screenshot({ path: `${OUTPUT}dashboard-cycle.png`, fullPage: true });
    await checkAccessibility(page, 'cycle page');

    // Retry: the token is asked once, in a dialog, and kept for this tab only.
    failing = false;
    await item.getByRole('button', { name: 'Retry order-7 of orders' }).click();
    const dialog = page.locator('#token-dialog');
    await dialog.waitFor({ state: 'visible', timeout: 5_000 });
    await page.locator('#token-input').fill(TOKEN);
    await page.keyboard.press('Enter');
    const status = page.locator('#view tr[data-key="order-7"] .retry-status');
    await page.waitForFunction(
      () =>
        document.querySelector('#view tr[data-key="order-7"] .retry-status')?.getAttribute('data-state') ===
        'succeeded',
      undefined,
      { timeout: 20_000, polling: 100 },
    );
    assert.match((await status.textContent()) ?? '', /^Retried: succeeded \(in its cycle\)$/);
    assert.equal(await page.evaluate(() => (window as unknown as { __sameDocument?: number }).__sameDocument), 1);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('autoloop.adminToken')), TOKEN);
    assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in localStorage');
    assert.ok(!page.url().includes(TOKEN), 'the token is never in the URL');

    // The store agrees: order-7 succeeded in a later cycle, with its stored payload.
    const later = (await runtime.store.cycles.list('orders', { limit: 10 })).filter((c) => c.id !== first.id);
    const results = (await Promise.all(later.map((c) => runtime.store.cycles.items(c.id)))).flat();
    assert.deepEqual(
      results.filter((r) => r.key === 'order-7').map((r) => [r.status, r.output]),
      [['succeeded', { settled: 7 }]],
    );

    // After a reload the failed list still shows the failure, and that its retry succeeded (from the store).
    await page.evaluate(() => {
      location.hash = '#/failed';
    });
    await page.reload({ waitUntil: 'load' });
    const reloaded = page.locator('#view tr[data-key="order-7"] .retry-status[data-state="succeeded"]');
    await reloaded.waitFor({ timeout: 10_000 });
    assert.match((await reloaded.textContent()) ?? '', /^Retried: succeeded/);
    assert.deepEqual(problems, []);
  });

  it('pauses and resumes a loop from the overview (no second token prompt)', { timeout: 60_000 }, async () => {
    const problems = watchProblems(page);
    await page.goto(`${url}/#/`, { waitUntil: 'load' });
    const card = page.locator('[data-loop="prices"]');
    await card.locator('[data-field="state"]').waitFor({ timeout: 10_000 });
    await checkAccessibility(page, 'overview');

    await card.getByRole('button', { name: 'Pause prices' }).click();
    await page.waitForFunction(
      () => document.querySelector('[data-loop="prices"] [data-field="state"]')?.textContent === 'paused',
      undefined,
      { timeout: 10_000 },
    );
    assert.equal(runtime.loop('prices').paused, true, 'the runtime paused the loop');
    assert.equal(await page.locator('#token-dialog').isVisible(), false, 'the token of this tab was reused');
    assert.equal(await card.locator('[data-field="pause"]').textContent(), 'Resume');

    // Keyboard: the same button, focused and pressed with Enter.
    await card.getByRole('button', { name: 'Resume prices' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      () => document.querySelector('[data-loop="prices"] [data-field="state"]')?.textContent !== 'paused',
      undefined,
      { timeout: 10_000 },
    );
    assert.equal(runtime.loop('prices').paused, false, 'the runtime resumed the loop');
    assert.match((await page.locator('#action-status').textContent()) ?? '', /prices: resumed/);
    assert.deepEqual(problems, []);
  });

  it('after a reload the charts show the history the store holds', { timeout: 60_000 }, async () => {
    // Enough finished cycles of prices in the store for a line.
    await waitFor(
      'six cycles of prices in the store',
      async () => (await runtime.store.cycles.list('prices', { limit: 10 })).length >= 6,
      20_000,
    );
    await page.reload({ waitUntil: 'load' });
    const spark = page.locator('[data-loop="prices"] [data-field="p95-spark"]');
    await page.waitForFunction(
      () =>
        Number(document.querySelector('[data-loop="prices"] [data-field="p95-spark"]')?.getAttribute('data-stored')) >=
        5,
      undefined,
      { timeout: 10_000 },
    );
    const points = ((await spark.locator('polyline').first().getAttribute('points')) ?? '').trim().split(/\s+/);
    assert.ok(points.length >= 5, `the p95 line has the stored points (${points.length})`);
    const conc = await page.locator('[data-loop="prices"] [data-field="conc-spark"] polyline').count();
    assert.ok(conc >= 1, 'the concurrency chart is drawn from the stored peaks too');
  });

  it('runs a loop now from its card; the queue panel shows an estimate for its waiting items', {
    timeout: 60_000,
  }, async () => {
    await page.evaluate(() => {
      location.hash = '#/';
    });
    const card = page.locator('[data-loop="batch"]');
    await card.getByRole('button', { name: 'Run now: batch' }).click();
    // The estimate cell of batch's queue row: a duration once the first item has finished.
    await page.waitForFunction(
      () => {
        const row = [...document.querySelectorAll('#queue-body tr')].find(
          (r) => r.querySelector('th')?.textContent === 'batch',
        );
        const cells = row ? [...row.querySelectorAll('td')] : [];
        const total = Number(cells.at(-2)?.textContent);
        return total > 0 && /^(≈ )?(< 1 s|\d+ s|\d+ min \d+ s)$/.test(cells.at(-1)?.textContent ?? '');
      },
      undefined,
      { timeout: 20_000, polling: 200 },
    );
    await page.waitForFunction(
      () => /batch: ran a cycle now \(ok\)/.test(document.getElementById('action-status')?.textContent ?? ''),
      undefined,
      { timeout: 30_000 },
    );
  });

  it('keyboard: a focused cycle of the timeline opens its page with Enter', { timeout: 30_000 }, async () => {
    const cell = page.locator('[data-loop="batch"] .timeline li[data-outcome="ok"]').last();
    await cell.waitFor({ timeout: 10_000 });
    await cell.focus();
    await page.keyboard.press('Enter');
    await page.locator('#view-heading').waitFor({ timeout: 10_000 });
    assert.match((await page.locator('#view-heading').textContent()) ?? '', /^Cycle of batch ok$/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'view-heading', 'focus moves to the page');
    assert.equal(await page.locator('#view tr[data-key]').count(), 6);
  });

  it('a refused token is forgotten and asked again; another tab starts with none', { timeout: 30_000 }, async () => {
    const other = await browser.newPage({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    await other.goto(`${url}/#/`, { waitUntil: 'load' });
    assert.equal(await other.evaluate(() => sessionStorage.length), 0, 'the token is kept per tab');
    const paused = runtime.loop('orders').paused;
    await other.locator('[data-loop="orders"]').getByRole('button', { name: 'Pause orders' }).click();
    await other.locator('#token-input').fill('not-the-admin-token');
    await other.keyboard.press('Enter');
    // The server said 401: the dialog comes back saying so, and the wrong token is not kept.
    await other.waitForFunction(() => /did not accept/.test(document.getElementById('token-error')?.textContent ?? ''));
    assert.equal(await other.locator('#token-dialog').isVisible(), true);
    assert.equal(await other.evaluate(() => sessionStorage.getItem('autoloop.adminToken')), null);
    await other.getByRole('button', { name: 'Cancel' }).click();
    await other.waitForFunction(() =>
      /Not sent: the token was refused/.test(document.getElementById('action-status')?.textContent ?? ''),
    );
    assert.equal(runtime.loop('orders').paused, paused, 'nothing changed');
    await other.close();
  });

  it('the cycles page filters by loop and outcome', { timeout: 30_000 }, async () => {
    await page.evaluate(() => {
      location.hash = '#/cycles?loop=orders&outcome=partial';
    });
    await page.locator('#view tr[data-cycle]').first().waitFor({ timeout: 10_000 });
    const rows = await page
      .locator('#view tr[data-cycle]')
      .evaluateAll((r) => r.map((x) => x.getAttribute('data-cycle')));
    assert.deepEqual(rows, [first.id]);
    await page.locator('#filter-outcome').selectOption('');
    await page.waitForFunction(() => location.hash === '#/cycles?loop=orders');
    await page.waitForFunction(() => document.querySelectorAll('#view tr[data-cycle]').length >= 2);
  });
});

function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console.error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return problems;
}

/** axe-core in the page: no serious or critical violations. */
async function checkAccessibility(page: Page, what: string): Promise<void> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: AXE });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document);
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  });
  assert.deepEqual(violations, [], `axe on the ${what}`);
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
