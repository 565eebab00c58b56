/**
 * The decide recipe's dashboard panel in headless Chromium (Debian's
 * `chromium`): a runtime on loopback with a failing `work` loop and a
 * decide loop over it, two decide cycles run; the panel shows the target's
 * score over time (one column per cycle, coloured by state) and the
 * decisions with their rationale, with no console error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { decide } from '../src/recipes/decide/recipe.ts';
import { recipeLoops } from '../src/recipes/recipe.ts';
import { createRuntime, type Runtime } from '../src/runtime/runtime.ts';
import { launchChromium } from './support/browser.ts';

describe('decide panel on the dashboard in headless Chromium', () => {
  let runtime: Runtime;
  let browser: Browser | undefined;

  before(async () => {
    runtime = createRuntime({
      loops: [
        {
          name: 'work',
          trigger: { manual: true },
          plan: () => [{ key: 'a' }, { key: 'b' }],
          act: () => {
            throw new Error('down');
          },
          policies: { concurrency: 2, retry: { attempts: 1 } },
        },
        ...recipeLoops(decide, 'autopilot', { targets: ['work'], verify: false, minInterval: 0 }),
      ],
      store: 'memory://',
      http: { host: '127.0.0.1', port: 0 },
      shutdownGraceMs: 2000,
    });
    await runtime.start({ schedule: false });
    await runtime.run('work');
    await runtime.run('autopilot');
    await runtime.run('autopilot');
  });
  after(async () => {
    await browser?.close();
    await runtime?.stop();
  });

  it('draws the score over time and lists the decisions with their rationale', { timeout: 60_000 }, async () => {
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(`${runtime.url}/`, { waitUntil: 'load' });

    const panel = page.locator('#decide-panel');
    await panel.locator('.decide-chart').waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('#decide-panel-heading').textContent(), 'Decide');
    assert.equal(await panel.locator('.decide-column').count(), 2, 'one column per decide cycle');
    assert.equal(await panel.locator('.decide-column.decide-degraded').count(), 2);
    assert.match((await panel.locator('.decide-summary').textContent()) ?? '', /^autopilot: work 0\.\d+ \(degraded\)/);
    const rows = panel.locator('tbody tr');
    assert.equal(await rows.count(), 2);
    const first = (await rows.first().locator('td').allTextContents()).slice(1);
    assert.equal(first[0], 'scale_up');
    assert.equal(first[1], 'work');
    assert.equal(first[3], 'executed');
    assert.match(first[4] ?? '', /^health 0\.\d+ \(degraded\): completion rate 0, \d agent\(s\)/);
    assert.deepEqual(problems, []);
  });
});
