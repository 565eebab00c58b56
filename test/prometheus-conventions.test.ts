/**
 * The metrics and the exported alert rules, checked by Prometheus' own
 * linter (`promtool`, Debian's `prometheus` package; CI installs it with
 * scripts/install-test-deps.sh). Nothing is skipped: without promtool the
 * test fails and says how to install it.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { defineLoop } from '../src/config/define-loop.ts';
import { createRuntime, type Runtime } from '../src/runtime/runtime.ts';
import { autoloop } from './support/cli.ts';

/**
 * What promtool 2.42 says about prom-client's default collectors, which keep
 * the names stock Node.js dashboards query: three gauges end in `_total`.
 * Anything else it reports is ours to fix.
 */
const STOCK_NODEJS_LINTS = new Set([
  'nodejs_active_handles_total non-counter metrics should not have "_total" suffix',
  'nodejs_active_requests_total non-counter metrics should not have "_total" suffix',
  'nodejs_active_resources_total non-counter metrics should not have "_total" suffix',
]);

function promtool(args: string[], stdin?: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(stdin ?? '');
  });
}

before(() => {
  const found = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  assert.equal(
    found.status,
    0,
    'promtool is missing: run scripts/install-test-deps.sh as root (apt-get install -y prometheus)',
  );
});

describe('promtool check metrics on a running runtime', () => {
  let runtime: Runtime;

  before(async () => {
    // Every kind of series: an adaptive loop with backpressure and a breaker dependency, items that ran and failed.
    let n = 0;
    const loop = defineLoop({
      name: 'jobs',
      trigger: { manual: true },
      observe: () => ['a', 'b', 'c', 'd'],
      act: async (_item, { clock, signal }) => {
        await clock.sleep(5, signal);
        if (++n % 4 === 0) throw new Error('every fourth fails');
      },
      policies: { adaptive: { min: 1 }, uses: ['api'], retry: { attempts: 1 } },
    });
    runtime = createRuntime({
      loops: [loop],
      dependencies: { api: { breaker: { failureThreshold: 50 } } },
      http: { host: '127.0.0.1', port: 0 },
      processMetrics: true,
    });
    await runtime.start();
    await runtime.run('jobs');
  });

  after(async () => {
    await runtime.stop({ graceMs: 1_000 });
  });

  it('finds nothing beyond the stock nodejs_* names of the default collectors', async () => {
    const reply = await fetch(`${runtime.url}/metrics`);
    assert.equal(reply.status, 200);
    const text = await reply.text();
    for (const name of ['process_cpu_seconds_total', 'autoloop_item_attempt_duration_seconds_bucket']) {
      assert.match(text, new RegExp(`^${name}[{ ]`, 'm'), `${name} is exposed`);
    }
    const { output } = await promtool(['check', 'metrics'], text);
    const problems = output
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !STOCK_NODEJS_LINTS.has(line));
    assert.deepEqual(problems, [], `promtool check metrics:\n${output}`);
  });
});

describe('promtool check rules on `autoloop alerts export`', () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'autoloop-rules-'));
    // Every default rule is included (a scheduled adaptive loop with backpressure and leases, a breaker), plus user rules of each function.
    writeFileSync(
      join(dir, 'autoloop.yaml'),
      `store: memory://
log: { file: false }
dependencies:
  api: { breaker: { failureThreshold: 5 } }
loops:
  jobs:
    trigger: { interval: 1m }
    items: [a]
    act: { command: "true" }
    policies: { adaptive: { min: 1, p95: 8s, p99: 9s }, uses: [api] }
alerts:
  rules:
    - { name: SlowAttempts, metric: autoloop_item_attempt_duration_seconds, function: quantile, quantile: 0.99, window: 10m, by: [loop], op: ">", threshold: 30 }
    - { name: ItemsFailing, metric: autoloop_items_total, labels: { outcome: failed }, function: increase, window: 15m, op: ">", threshold: 3 }
    - { name: Stale, metric: autoloop_last_cycle_timestamp_seconds, function: age, op: ">", threshold: 600 }
`,
    );
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('exports valid rules, all seven defaults among them', async () => {
    const exported = await autoloop(['alerts', 'export', '--config', join(dir, 'autoloop.yaml')]);
    assert.equal(exported.code, 0, exported.stderr);
    const doc = parseYaml(exported.stdout) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    const rules = doc.groups.flatMap((g) => g.rules);
    assert.equal(rules.length, 10, rules.map((r) => r.alert).join(', '));
    assert.match(
      rules.find((r) => r.alert === 'AutoloopHighLatencyMode')?.expr ?? '',
      /^histogram_quantile\(0\.95, sum by \(le, loop\) \(rate\(autoloop_item_attempt_duration_seconds_bucket\{loop="jobs"\}\[5m\]\)\)\) > 8$/,
    );
    const file = join(dir, 'rules.yaml');
    writeFileSync(file, exported.stdout);
    const checked = await promtool(['check', 'rules', file]);
    assert.equal(checked.code, 0, checked.output);
    assert.match(checked.output, /SUCCESS: 10 rules found/);
  });
});
