/**
 * examples/data-collection runs: its config loads, and its first cycle
 * (three sources, script collectors writing files, one slow, one flaky)
 * collects every gap but the ones whose collector refuses for good, with
 * the report written where the seed kept its gaps.json.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load-config.ts';
import { runtimeOptionsFromConfig } from '../src/runtime/from-config.ts';
import { createRuntime } from '../src/runtime/runtime.ts';

const EXAMPLE = fileURLToPath(new URL('../examples/data-collection/', import.meta.url));
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('examples/data-collection', () => {
  it('its first cycle collects the season: every gap but the refused ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'autoloop-example-dc-'));
    dirs.push(dir);
    cpSync(EXAMPLE, dir, { recursive: true, filter: (src) => !/\/(data|inventory|\.autoloop)(\/|$)/.test(src) });
    // The inventory's directory must exist (an absent one is an unreachable inventory, not an empty one).
    mkdirSync(join(dir, 'data'));
    const file = join(dir, 'autoloop.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('sqlite://./.autoloop/state.db', 'memory://'));
    const config = await loadConfig(file, { env: { ...process.env } });
    const runtime = createRuntime(runtimeOptionsFromConfig(config, { http: false }));
    await runtime.start({ schedule: false });
    try {
      const started = Date.now();
      const record = await runtime.run('collect');
      const tookMs = Date.now() - started;
      // 40 days back on every other day: 20 or 21 dates, per source.
      assert.ok(record.counts.planned >= 60 && record.counts.planned <= 63, JSON.stringify(record.counts));
      const items = await runtime.store.cycles.items(record.id);
      const failed = items.filter((i) => i.status === 'failed');
      for (const f of failed) {
        assert.match(f.key, /^basketball_reference\/boxscores\/\d{4}-\d{2}-13\.json$/, f.error?.message);
      }
      const retried = items.filter((i) => i.status === 'succeeded' && i.attempts === 2);
      assert.ok(retried.length > 0, 'the flaky collector failed some first attempts and succeeded on retry');
      assert.equal(record.counts.succeeded + failed.length, record.counts.planned);
      await runtime.recipe<{ idle(): Promise<void> }>('reconcile')?.idle();
      const report = JSON.parse(readFileSync(join(dir, 'inventory', 'gaps.json'), 'utf8')) as {
        total: number;
        bySource: Record<string, number>;
      };
      assert.equal(report.total, failed.length);
      assert.ok(existsSync(join(dir, 'data', 'nba_api', '2025-26')));
      process.stdout.write(`# example first cycle: ${record.counts.planned} gaps in ${tookMs} ms\n`);
    } finally {
      await runtime.stop();
    }
  });
});
