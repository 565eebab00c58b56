/**
 * The supervisor's dashboard panel, through the generic seam for a
 * deployment part's panel (`RuntimeOptions.extensions`): a config with
 * `services:` lists it in `/status` like a recipe's panel, serves its
 * module and stylesheet at `/supervisor/panel.*`, and the dashboard in
 * headless Chromium mounts it with one row per service instance and the
 * watched disk. Screenshot: test-output/services-panel.png.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { parseConfigText } from '../src/config/load-config.ts';
import { runtimeOptionsFromConfig } from '../src/runtime/from-config.ts';
import { createRuntime, type Runtime } from '../src/runtime/runtime.ts';
import { waitFor } from './http-support.ts';
import { launchChromium, pageProblems } from './support/browser.ts';

const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url));

describe('the services panel on the dashboard', { timeout: 90_000 }, () => {
  let runtime: Runtime;
  let browser: Browser | undefined;
  let url = '';

  before(async () => {
    const config = await parseConfigText(
      `store: memory://
log: { file: false }
http: { host: 127.0.0.1, port: 0 }
loops: {}
services:
  api: { command: "exec sleep 60", instances: 2, logs: false }
  db: { command: "exec sleep 60", logs: false, disk: { path: ${tmpdir()}, warnBelow: 100% } }
`,
      { file: `${tmpdir()}/autoloop.yaml`, env: {} },
    );
    runtime = createRuntime(runtimeOptionsFromConfig(config));
    await runtime.start();
    url = runtime.url as string;
  });
  after(async () => {
    await browser?.close();
    await runtime?.stop({ graceMs: 5_000 });
  });

  it('is listed in /status like a recipe panel and served under /supervisor', async () => {
    const status = (await (await fetch(`${url}/status`)).json()) as {
      recipes: Record<string, { loops: string[]; panel: unknown }>;
    };
    assert.deepEqual(status.recipes.supervisor, {
      loops: [],
      panel: { title: 'Services', script: '/supervisor/panel.js' },
    });
    const script = await fetch(`${url}/supervisor/panel.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.match(await script.text(), /export async function mount\(section, helpers\)/);
    const style = await fetch(`${url}/supervisor/panel.css`);
    assert.match(style.headers.get('content-type') ?? '', /^text\/css/);
  });

  it('mounts in Chromium: a row per instance with its state and pid, the watched disk, no console errors', async () => {
    await waitFor(
      'three instances running',
      async () => {
        const status = (await (await fetch(`${url}/status`)).json()) as {
          services: { instances: Array<{ state: string }> };
        };
        return status.services.instances.filter((i) => i.state === 'running').length === 3;
      },
      20_000,
    );
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems = pageProblems(page);
    await page.goto(`${url}/`, { waitUntil: 'load' });
    const rows = page.locator('#supervisor-panel #supervisor-rows tr');
    await waitFor('three rows', async () => (await rows.count()) === 3, 15_000);
    const cells = await rows.evaluateAll((trs) =>
      trs.map((tr) => [...tr.children].slice(0, 4).map((c) => c.textContent)),
    );
    assert.deepEqual(
      cells.map(([name, state]) => [name, state]),
      [
        ['api#0', 'running'],
        ['api#1', 'running'],
        ['db', 'running'],
      ],
    );
    assert.ok(
      cells.every(([, , pid]) => /^\d+$/.test(pid ?? '')),
      JSON.stringify(cells),
    );
    assert.equal(await page.locator('#supervisor-summary').textContent(), '3 of 3 running');
    await page.locator('#supervisor-disks li.supervisor-disk-warning').waitFor({ timeout: 10_000 });
    assert.match(
      (await page.locator('#supervisor-disks li').textContent()) ?? '',
      /^db: .* [\d.]+ GB free \(warning\)$/,
    );
    assert.equal(await page.locator('#supervisor-panel-heading').textContent(), 'Services');
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: `${OUTPUT}services-panel.png`, fullPage: true });
    assert.deepEqual(problems, [], 'no console errors, page errors or CSP violations');
  });
});
