/**
 * `recipe: reconcile` from YAML against a real directory, with a real
 * collector command: a cycle collects the gaps (one collector fails and is
 * reported), the report is kept in the store, written as a file and served
 * at GET /reconcile; health, metrics and `autoloop gaps` show it; bad
 * configs name the file and path.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../src/config/load-config.ts';
import { runtimeOptionsFromConfig } from '../src/runtime/from-config.ts';
import { createRuntime } from '../src/runtime/runtime.ts';
import { autoloop } from './support/cli.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function today(offsetDays = 0): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

/** A deployment directory: config, coverage, a collector script, and data with two of the expected files. */
function deployment(): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'autoloop-reconcile-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'data', 'games'), { recursive: true });
  writeFileSync(join(dir, 'data', 'games', `${today(-2)}.json`), '{"games":[1,2,3]}');
  writeFileSync(join(dir, 'data', 'games', `${today(-1)}.json`), 'tiny'); // below minSize: invalid
  writeFileSync(
    join(dir, 'coverage.yaml'),
    [
      'sources:',
      '  games:',
      '    key: "games/{date}.json"',
      '    dates: { from: -2d, to: today }',
      '    minSize: 10',
      '  teams:',
      '    key: "teams/{value}.json"',
      '    values: [bos, lal, bad]',
      'priorities:',
      '  - { within: 1d, priority: critical }',
      '  - { sources: [teams], priority: medium }',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'collect.sh'),
    [
      '#!/bin/sh',
      '# Writes the object its key names; the team "bad" fails for good (exit 3).',
      'if [ "$2" = "teams/bad.json" ]; then echo "no such team" >&2; exit 3; fi',
      'mkdir -p "$(dirname "$1")"',
      'printf \'{"collected":"%s","source":"%s"}\' "$2" "$RECONCILE_SOURCE" > "$1.tmp" && mv "$1.tmp" "$1"',
      'echo \'{"ok":true}\'',
    ].join('\n'),
  );
  const file = join(dir, 'autoloop.yaml');
  writeFileSync(
    file,
    [
      'store: sqlite://./state.db',
      'loops:',
      '  collect:',
      '    recipe: reconcile',
      '    trigger: { interval: 1h }',
      '    inventory: { dir: ./data }',
      '    coverage: ./coverage.yaml',
      '    collector: { command: "sh ./collect.sh {path} {key}", timeout: 30s }',
      '    budget: 10m',
      '    concurrency: { default: 2, teams: 1 }',
      '    report: { file: ./gaps.json }',
      '    policies: { retry: { attempts: 1 } }',
    ].join('\n'),
  );
  return { dir, file };
}

describe('reconcile: a cycle against a real directory', () => {
  it('collects the gaps with a command, keeps and serves the report, and the CLI shows it', async () => {
    const { dir, file } = deployment();
    const config = await loadConfig(file, { env: { ...process.env } });
    assert.match(config.notes.join('\n'), /loop collect: dir .*data against 2 source\(s\)/);
    const runtime = createRuntime(runtimeOptionsFromConfig(config, { http: { host: '127.0.0.1', port: 0 } }));
    await runtime.start({ schedule: false });
    try {
      const record = await runtime.run('collect');
      // games: today (missing, critical), yesterday (invalid, critical); teams: 3 missing (medium), one fails.
      assert.deepEqual(record.counts, { planned: 5, succeeded: 4, failed: 1, skipped: 0 });
      const items = await runtime.store.cycles.items(record.id);
      const failed = items.find((i) => i.status === 'failed');
      assert.equal(failed?.key, 'teams/bad.json');
      assert.match(failed?.error?.message ?? '', /exited with code 3 \(do not retry\): no such team/);
      for (const key of [`games/${today()}.json`, 'teams/bos.json', 'teams/lal.json']) {
        assert.ok(existsSync(join(dir, 'data', key)), key);
      }
      assert.match(readFileSync(join(dir, 'data', 'games', `${today(-1)}.json`), 'utf8'), /"collected"/);

      await runtime.recipe<{ idle(): Promise<void> }>('reconcile')?.idle();
      const response = await fetch(`${runtime.url}/reconcile`);
      assert.equal(response.status, 200);
      const report = (await response.json()) as Record<string, unknown> & {
        total: number;
        byPriority: Record<string, number>;
        bySource: Record<string, number>;
        coverage: { expected: number; present: number };
        inventory: { objects: number };
        trigger: string;
      };
      assert.equal(report.trigger, 'after orchestration');
      assert.equal(report.total, 1);
      assert.deepEqual(report.byPriority, { critical: 0, high: 0, medium: 1, low: 0 });
      assert.deepEqual(report.bySource, { teams: 1 });
      assert.deepEqual([report.coverage.expected, report.coverage.present], [6, 5]);
      assert.equal(report.inventory.objects, 5);
      for (const field of ['generated', 'estimatedSeconds', 'estimatedMinutes', 'tasks', 'loops']) {
        assert.ok(field in report, field);
      }
      const file = JSON.parse(readFileSync(join(dir, 'gaps.json'), 'utf8')) as { total: number };
      assert.equal(file.total, 1, 'the report file (the seed gaps.json)');

      const history = (await (await fetch(`${runtime.url}/reconcile/history`)).json()) as {
        entries: Array<{ total: number }>;
      };
      assert.deepEqual(
        history.entries.map((e) => e.total),
        [5, 1],
      );
      assert.equal((await fetch(`${runtime.url}/reconcile?loop=nope`)).status, 404);
      assert.equal((await fetch(`${runtime.url}/reconcile/history?limit=0`)).status, 400);

      const health = (await (await fetch(`${runtime.url}/health`)).json()) as {
        components: Record<string, { healthy: boolean }>;
      };
      assert.equal(health.components['reconcile.collect.inventory']?.healthy, true);
      assert.equal(health.components['reconcile.collect.freshness']?.healthy, true);

      const metrics = await (await fetch(`${runtime.url}/metrics`)).text();
      assert.match(metrics, /^autoloop_reconcile_gaps\{loop="collect",source="teams",priority="medium"\} 1$/m);
      assert.match(metrics, /^autoloop_reconcile_coverage_ratio\{loop="collect",source="all"\} 0\.8333$/m);
      assert.match(metrics, /^autoloop_reconcile_inventory_objects\{loop="collect"\} 5$/m);
      assert.match(metrics, /^autoloop_reconcile_inventory_age_seconds\{loop="collect"\} \d/m);
      assert.match(
        metrics,
        /^autoloop_reconcile_collections_total\{loop="collect",source="teams",outcome="failed"\} 1$/m,
      );

      const status = (await (await fetch(`${runtime.url}/status`)).json()) as {
        recipes: { reconcile: { panel: unknown; status: { loops: Array<{ gaps: { total: number } }> } } };
      };
      assert.equal(status.recipes.reconcile.status.loops[0]?.gaps.total, 1);
      assert.deepEqual(status.recipes.reconcile.panel, { title: 'Reconcile', script: '/reconcile/panel.js' });
    } finally {
      await runtime.stop();
    }

    const text = await autoloop(['gaps', 'collect', '--config', file], { cwd: dir });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /gaps of collect: 1/);
    assert.match(text.stdout, /critical\s+0/);
    assert.match(text.stdout, /medium\s+1/);
    assert.match(text.stdout, /teams\s+1\s+3\s+2\s+66\.7%/);
    assert.match(text.stdout, /medium\s+missing\s+teams\s+teams\/bad\.json/);
    const json = await autoloop(['gaps', 'collect', '--json', '--config', file], { cwd: dir });
    assert.equal(json.code, 0, json.stderr);
    assert.equal((JSON.parse(json.stdout) as { total: number }).total, 1);
    const unknown = await autoloop(['gaps', 'nope', '--config', file], { cwd: dir });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /"nope" is not a reconcile loop in .*; reconcile loops: collect/);

    // `autoloop status` without a daemon: the gaps and the inventory from the store.
    const status = await autoloop(['status', '--config', file], { cwd: dir });
    assert.match(
      status.stdout,
      /^reconcile collect: 1 gap\(s\) \(critical 0, high 0, medium 1, low 0\), coverage 83\.3 %, ~\d+ min to collect; report \d{4}-/m,
      status.stderr,
    );
    assert.match(status.stdout, /^ {2}inventory .*: 5 objects, \d+(\.\d+)? (B|KB), scanned \d{4}-.* in /m);
    const statusJson = await autoloop(['status', '--json', '--config', file], { cwd: dir });
    const view = JSON.parse(statusJson.stdout) as {
      recipes: {
        reconcile: { loops: Array<{ loop: string; gaps: { total: number }; inventory: { objects: number } }> };
      };
    };
    assert.deepEqual(
      view.recipes.reconcile.loops.map((l) => [l.loop, l.gaps.total, l.inventory.objects]),
      [['collect', 1, 5]],
    );
  });

  it('bad configs name the file, the path and what was expected', async () => {
    const { dir, file } = deployment();
    const base = readFileSync(file, 'utf8');
    writeFileSync(file, base.replace('concurrency: { default: 2, teams: 1 }', 'concurrency: { default: 2, temas: 1 }'));
    await assert.rejects(
      loadConfig(file, { env: {} }),
      /autoloop\.yaml: loops\.collect\.concurrency\.temas: expected a source of the coverage spec \(games, teams\) or default, got "temas"/,
    );
    const withRateLimit = (rateLimit: string) =>
      base.replace(
        'concurrency: { default: 2, teams: 1 }',
        `concurrency: { default: 2, teams: 1 }\n    rateLimit: ${rateLimit}`,
      );
    writeFileSync(file, withRateLimit('{ temas: { requests: 10, per: 1m } }'));
    await assert.rejects(
      loadConfig(file, { env: {} }),
      /autoloop\.yaml: loops\.collect\.rateLimit\.temas: expected a source of the coverage spec \(games, teams\) or default, got "temas"/,
    );
    writeFileSync(file, withRateLimit('{ teams: { requests: 0, per: 1m } }'));
    await assert.rejects(loadConfig(file, { env: {} }), /autoloop\.yaml: loops\.collect\.rateLimit\.teams\.requests: /);
    writeFileSync(file, base.replace('inventory: { dir: ./data }', 'inventory: { bucket: x }'));
    await assert.rejects(
      loadConfig(file, { env: {} }),
      /loops\.collect\.inventory: expected an inventory: \{ dir: \.\/data \}/,
    );
    writeFileSync(file, base);
    writeFileSync(join(dir, 'coverage.yaml'), 'sources:\n  games:\n    key: "{date"\n    dates: { from: -2d }\n');
    await assert.rejects(loadConfig(file, { env: {} }), /coverage\.yaml: sources\.games\.key: expected a key template/);
    writeFileSync(
      file,
      base.replace('coverage: ./coverage.yaml', 'coverage: { sources: { g: { key: "{x}", values: [1] } } }'),
    );
    await assert.rejects(
      loadConfig(file, { env: {} }),
      /autoloop\.yaml: loops\.collect\.coverage\.sources\.g\.key: expected placeholders from: \{source\}, \{value\}, got \{x\}/,
    );
  });
});
