/**
 * `autoloop simulate --store <url>`: loops the config gives no model take
 * their act latency and failure rate from the store's recent cycles, and
 * the report says which model each loop used (history, config, default).
 * The history is written by a real run on a real SQLite file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfigText } from '../src/config/load-config.ts';
import { MIN_HISTORY_SAMPLES, modelsFromHistory } from '../src/simulation/history-models.ts';
import { simulate } from '../src/simulation/simulation.ts';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { autoloop } from './support/cli.ts';

let dir: string;
let db: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'autoloop-simulate-history-'));
  db = join(dir, 'state.db');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const LOOPS = `
store: memory://
loops:
  fetch:
    trigger: { interval: 10s }
    items: [a, b, c]
    act: { command: "false" }
    policies: { retry: { attempts: 3, backoff: 100ms } }
  tidy:
    trigger: { interval: 5m }
    items: [x]
    act: { command: "false" }
  report:
    trigger: { interval: 5m }
    items: [y]
    act: { command: "false" }
`;

describe('autoloop simulate: models from history', { timeout: 300_000 }, () => {
  it('a real run recorded in SQLite gives its loops their latency and failure rate back', async () => {
    // The "production" run that leaves the history: fetch 200-400 ms, 20% of calls failing.
    const recorded = `${LOOPS}simulate:\n  loops:\n    fetch: { latency: { min: 200ms, max: 400ms }, failureRate: 0.2 }\n`;
    const config = await parseConfigText(recorded, { env: {}, file: join(dir, 'recorded.yaml') });
    const store = SqliteStore.open(db);
    try {
      await simulate({
        config,
        durationMs: 20 * 60_000,
        instances: 1,
        seed: 9,
        faults: { name: 'none', faults: [] },
        store,
        settleRounds: 3,
      });
      const models = await modelsFromHistory(store, ['fetch', 'tidy', 'absent']);
      const fetch = models.get('fetch');
      assert.ok(fetch, 'fetch has history');
      assert.equal(fetch.latency.kind, 'lognormal');
      if (fetch.latency.kind !== 'lognormal') return;
      assert.ok(fetch.latency.p50Ms >= 250 && fetch.latency.p50Ms <= 350, `p50 ${fetch.latency.p50Ms} ms`);
      assert.ok(fetch.latency.p99Ms >= 350 && fetch.latency.p99Ms <= 450, `p99 ${fetch.latency.p99Ms} ms`);
      assert.ok(fetch.failureRate >= 0.12 && fetch.failureRate <= 0.28, `failure rate ${fetch.failureRate}`);
      assert.ok(fetch.results > MIN_HISTORY_SAMPLES);
      assert.equal(models.has('tidy'), false, `tidy ran about 5 times: fewer samples than ${MIN_HISTORY_SAMPLES}`);
      assert.equal(models.has('absent'), false);
    } finally {
      await store.close();
    }
  });

  it('the CLI with --store <file>: history, config and default models, each named in the report', async () => {
    const file = join(dir, 'autoloop.yaml');
    writeFileSync(file, `${LOOPS}simulate:\n  loops:\n    tidy: { latency: { fixed: 50ms } }\n`);
    const args = ['simulate', '-c', file, '--duration', '5m', '--instances', '1', '--faults', 'none'];
    const run = await autoloop([...args, '--store', db, '--json'], { timeoutMs: 120_000 });
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    const source = Object.fromEntries(report.models.map((m: { loop: string; source: string }) => [m.loop, m.source]));
    assert.deepEqual(source, { fetch: 'history', tidy: 'config', report: 'default' });
    const fetch = report.models.find((m: { loop: string }) => m.loop === 'fetch');
    assert.match(fetch.summary, /failures, from \d+ cycles \(\d+ item results\) up to 2026-/);
    // Failures come back: the modelled fetch fails some attempts, as the recorded one did.
    assert.ok(report.loops[0].items.succeeded > 0);

    const human = await autoloop([...args, '--store', db], { timeoutMs: 120_000 });
    assert.match(human.stdout, /model fetch: latency p50 \d+ ms \/ p99 \d+ ms, [\d.]+% failures, from .* \(history\)/);
    const missing = await autoloop([...args, '--store', join(dir, 'nope.db')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--store: expected an existing store to read history from, got ".*nope\.db"/);
  });
});
