/**
 * Recipe panels on the dashboard, in headless Chromium: two toy recipes
 * defined here, each with a panel. The dashboard finds them in `/status`
 * (`recipes.<name>.panel`), imports their modules from `/<name>/panel.js`
 * and mounts them. The working one renders with the page's helpers, reads
 * its own route and links its stylesheet (`/<name>/panel.css`); the other's
 * module throws, so its section shows one error line while the rest of the
 * page (the loops) renders as usual. Screenshot: test-output/recipe-panels.png.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { z } from 'zod';
import { defineLoop } from '../src/config/define-loop.ts';
import type { LoopDefinition } from '../src/core/loop.ts';
import { defineRecipe, recipeLoops } from '../src/recipes/recipe.ts';
import { resolveCoverage } from '../src/recipes/reconcile/coverage-spec.ts';
import { MemoryInventory } from '../src/recipes/reconcile/memory-inventory.ts';
import type { ReconcileApi } from '../src/recipes/reconcile/recipe.ts';
import { ReconcileLoop } from '../src/recipes/reconcile/reconcile-loop.ts';
import { createRuntime, type Runtime } from '../src/runtime/runtime.ts';
import { waitFor } from './http-support.ts';
import { launchChromium } from './support/browser.ts';

const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url));

/** The page's console errors and warnings and its uncaught errors, collected as they come. */
function problemsOf(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return problems;
}

/** Greets names; its panel lists them, read from the recipe's own route with the dashboard's fetchJson. */
const GREETER_PANEL = `
const mounts = (window.__greeterMounts = (window.__greeterMounts ?? 0) + 1);
export async function mount(section, { el, setText, fetchJson, stylesheet }) {
  await stylesheet(new URL('./panel.css', import.meta.url).pathname);
  const { names } = await fetchJson('/greeter/names');
  const marker = el('p', { class: 'greeter-marker', 'data-mounts': mounts });
  setText(marker, 'hello from the greeter panel: ' + names.join(', '));
  section.append(marker);
}
`;

const greeter = defineRecipe({
  name: 'greeter',
  description: 'greets every name',
  options: z.strictObject({ names: z.array(z.string()) }),
  build: (options, site) => ({
    loops: [
      defineLoop({
        name: site.name,
        trigger: { manual: true },
        observe: () => options.names,
        plan: (names: string[]) => names.map((n) => ({ key: n, payload: n })),
        act: (item: { payload: string }) => `hello ${item.payload}`,
      }),
    ],
  }),
  start: () => ({
    http: (app) => app.get('/names', (c) => c.json({ names: ['ada', 'grace'] })),
    panel: { title: 'Greeter', script: GREETER_PANEL, style: '.greeter-marker { font-style: italic; }' },
  }),
});

const broken = defineRecipe({
  name: 'broken',
  description: 'a recipe whose panel module throws',
  options: z.strictObject({}),
  build: (_options, site) => ({
    loops: [defineLoop({ name: site.name, trigger: { manual: true }, act: () => null })],
  }),
  start: () => ({ panel: { title: 'Broken', script: "throw new Error('toy panel exploded');\nexport {};\n" } }),
});

describe('recipe panels on the dashboard in headless Chromium', () => {
  let runtime: Runtime;
  let browser: Browser | undefined;
  let url = '';

  before(async () => {
    runtime = createRuntime({
      recipes: [greeter, broken],
      loops: [...recipeLoops(greeter, 'greet', { names: ['ada', 'grace'] }), ...recipeLoops(broken, 'fragile', {})],
      store: 'memory://',
      http: { host: '127.0.0.1', port: 0 },
      shutdownGraceMs: 2000,
    });
    await runtime.start();
    url = runtime.url as string;
  });
  after(async () => {
    await browser?.close();
    await runtime?.stop();
  });

  it('serves each panel module and stylesheet under the recipe path', async () => {
    const status = (await (await fetch(`${url}/status`)).json()) as { recipes: Record<string, { panel: unknown }> };
    assert.deepEqual(status.recipes.greeter?.panel, { title: 'Greeter', script: '/greeter/panel.js' });
    const script = await fetch(`${url}/greeter/panel.js`);
    assert.match(script.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(script.headers.get('x-content-type-options'), 'nosniff');
    const style = await fetch(`${url}/greeter/panel.css`);
    assert.match(style.headers.get('content-type') ?? '', /^text\/css/);
    assert.equal(await style.text(), '.greeter-marker { font-style: italic; }');
    assert.equal((await fetch(`${url}/broken/panel.css`)).status, 404, 'no stylesheet given, none served');
  });

  it('mounts a working panel once, and shows one error line for a panel whose module throws', {
    timeout: 60_000,
  }, async () => {
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems = problemsOf(page);
    await page.goto(`${url}/`, { waitUntil: 'load' });

    const panel = page.locator('#greeter-panel');
    const marker = panel.locator('.greeter-marker');
    await marker.waitFor({ timeout: 10_000 });
    assert.equal(await marker.textContent(), 'hello from the greeter panel: ada, grace');
    assert.equal(await marker.evaluate((p) => getComputedStyle(p).fontStyle), 'italic', 'its stylesheet applies');
    assert.equal(await panel.getAttribute('aria-labelledby'), 'greeter-panel-heading');
    assert.equal(await page.locator('#greeter-panel-heading').textContent(), 'Greeter');
    assert.equal(await panel.evaluate((s) => s.parentElement?.id), 'recipe-panels');

    const failed = page.locator('#broken-panel .panel-error');
    await failed.waitFor({ timeout: 10_000 });
    assert.match((await failed.textContent()) ?? '', /^This panel failed to load: .*toy panel exploded/);
    assert.equal(await page.locator('#broken-panel-heading').textContent(), 'Broken', 'the heading stays');

    // The rest of the page carries on: both loops render, no error banner.
    await page.locator('[data-loop="greet"]').waitFor({ timeout: 10_000 });
    await page.locator('[data-loop="fragile"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#error').isHidden(), true);

    // Later snapshots (a cycle makes the page re-read /status) mount nothing twice.
    // The page asks /tasks right after it applied a /status answer: one such request after the cycle will do.
    let refreshed = false;
    await runtime.run('greet');
    await page.locator('[data-loop="greet"] .timeline li[data-outcome="ok"]').waitFor({ timeout: 10_000 });
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/tasks') refreshed = true;
    });
    await waitFor('the page to apply /status again', () => refreshed, 10_000);
    assert.equal(await page.locator('#greeter-panel').count(), 1);
    assert.equal(await page.locator('#broken-panel').count(), 1);
    assert.equal(await page.evaluate(() => (window as unknown as { __greeterMounts: number }).__greeterMounts), 1);

    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: `${OUTPUT}recipe-panels.png`, fullPage: true });
    assert.deepEqual(problems, [], 'no console errors, page errors or CSP violations');
  });
});

describe('the reconcile panel on the dashboard in headless Chromium', () => {
  let runtime: Runtime | undefined;
  let browser: Browser | undefined;
  after(async () => {
    await browser?.close();
    await runtime?.stop();
  });

  it('shows the coverage per source, the gaps by priority and the report history of a real cycle', {
    timeout: 90_000,
  }, async () => {
    const inventory = new MemoryInventory({ now: () => Date.now() });
    const day = (ago: number) => new Date(Date.now() - ago * 86_400_000).toISOString().slice(0, 10);
    inventory.put(`a/${day(2)}.json`, 100);
    const loop = new ReconcileLoop({
      name: 'collect',
      trigger: { manual: true },
      inventory,
      coverage: resolveCoverage(
        { sources: { a: { key: 'a/{date}.json', dates: { from: '-4d', to: 'today' } } } },
        { file: 'test', prefix: [], dir: '.' },
      ),
      // Collects every gap but the oldest, which fails: one gap stays after the orchestration.
      collector: async ({ gap }) => {
        if (gap.key === `a/${day(4)}.json`) throw new Error('upstream has no data for that day');
        inventory.put(gap.key, 100);
      },
      budgetMs: null,
      sourceConcurrency: () => 2,
      maxItems: 100,
      reportFile: null,
      policies: { timeout: '10s', concurrency: 2, retry: { attempts: 1 } },
      defaultTaskMs: 1_000,
      threshold: null,
      maxInventoryAgeMs: 3_600_000,
    });
    runtime = createRuntime({
      loops: [{ ...(loop.definition as LoopDefinition), recipe: 'reconcile' }],
      store: 'memory://',
      http: { host: '127.0.0.1', port: 0 },
      shutdownGraceMs: 2000,
    });
    await runtime.start({ schedule: false });
    const record = await runtime.run('collect');
    assert.deepEqual(record.counts, { planned: 4, succeeded: 3, failed: 1, skipped: 0 });
    await runtime.recipe<ReconcileApi>('reconcile')?.idle();

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems = problemsOf(page);
    await page.goto(`${runtime.url}/`, { waitUntil: 'load' });

    const summary = page.locator('#reconcile-summary');
    await page.waitForFunction(() => /gap/.test(document.querySelector('#reconcile-summary')?.textContent ?? ''), {
      timeout: 10_000,
    });
    assert.match(
      (await summary.textContent()) ?? '',
      /^collect: 1 gap\(s\) — critical 0, high 0, medium 0, low 1; coverage 80\.0%/,
    );
    assert.match(
      (await page.locator('#reconcile-inventory').textContent()) ?? '',
      /^Inventory memory: 4 objects, 400 bytes, scanned .* in \d+ ms$/,
    );
    const rows = page.locator('#reconcile-sources tr');
    assert.equal(await rows.count(), 1);
    assert.deepEqual(await rows.first().locator('td').allTextContents(), ['a', ' 80.0%', '4/5', '1']);
    assert.equal(await rows.first().locator('meter').getAttribute('value'), '0.8');
    // Two reports: the cycle's (4 gaps) and the one after the orchestration (1).
    const columns = page.locator('#reconcile-history .reconcile-column');
    assert.equal(await columns.count(), 2);
    assert.match((await columns.first().getAttribute('title')) ?? '', /: 4 gaps$/);
    assert.match((await columns.last().getAttribute('title')) ?? '', /: 1 gaps$/);

    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: `${OUTPUT}reconcile-panel.png`, fullPage: true });
    assert.deepEqual(problems, [], 'no console errors, page errors or CSP violations');
  });
});
