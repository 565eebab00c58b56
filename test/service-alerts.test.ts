/**
 * The built-in alert rules of supervised services: AutoloopServiceFailing
 * fires in-process when an instance is failing (over its restart limit) and
 * resolves when it recovers; `autoloop alerts export` includes it (and
 * AutoloopServiceDiskLow with a disk watch) in a file `promtool check rules`
 * accepts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import { AlertEvaluator } from '../src/observability/alerts/alert-evaluator.ts';
import type { AlertEvent } from '../src/observability/alerts/alert-event.ts';
import { alertFeatures, defaultAlertRules } from '../src/observability/alerts/default-rules.ts';
import { EventBus } from '../src/observability/events.ts';
import type { InstanceStatus } from '../src/supervisor/service-instance.ts';
import { registerServiceMetrics } from '../src/supervisor/service-metrics.ts';
import { VirtualClock } from '../src/time/virtual-clock.ts';
import { autoloop } from './support/cli.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const row = (failing: boolean): InstanceStatus => ({
  service: 'api',
  instance: 0,
  state: failing ? 'backoff' : 'running',
  pid: failing ? null : 4242,
  startedAt: null,
  uptimeMs: 0,
  restarts: failing ? 6 : 0,
  failing,
  ready: !failing,
  rssBytes: null,
  cpuSeconds: null,
  cpuPercent: null,
  memoryLimitBytes: null,
  healthFailures: 0,
  lastExit: null,
  detail: '',
});

describe('service alert rules', { timeout: 120_000 }, () => {
  it('are included only with services, the disk rule only with a disk watch', () => {
    const names = (services: Parameters<typeof alertFeatures>[3]) =>
      defaultAlertRules(alertFeatures([], [], 0, services)).map((r) => r.name);
    assert.deepEqual(names([]), []);
    assert.deepEqual(names([{ name: 'api', disk: null }]), ['AutoloopServiceFailing']);
    assert.deepEqual(
      names([
        { name: 'api', disk: null },
        { name: 'db', disk: { path: '/data' } },
      ]),
      ['AutoloopServiceFailing', 'AutoloopServiceDiskLow'],
    );
  });

  it('AutoloopServiceFailing fires in-process while an instance is failing and resolves when it recovers', async () => {
    const clock = new VirtualClock();
    const registry = new Registry();
    let failing = false;
    registerServiceMetrics(registry, new EventBus({ now: () => clock.now() }), () => [row(failing)]);
    const events: AlertEvent[] = [];
    const evaluator = new AlertEvaluator({
      registry,
      clock,
      rules: defaultAlertRules(alertFeatures([], [], 0, [{ name: 'api', disk: null }])),
      intervalMs: 15_000,
      onAlert: (e) => events.push(e),
    });
    await evaluator.evaluate();
    assert.equal(events.length, 0, 'nothing while the service runs');
    failing = true;
    await clock.advance(15_000);
    await evaluator.evaluate();
    assert.deepEqual(
      events.map((e) => [e.type, e.data.alert, e.data.severity]),
      [['alert.firing', 'AutoloopServiceFailing', 'critical']],
    );
    assert.match(JSON.stringify(events[0]?.data), /Service api instance 0 restarted more often than its restart limit/);
    failing = false;
    await clock.advance(15_000);
    await evaluator.evaluate();
    assert.deepEqual(
      events.map((e) => e.type),
      ['alert.firing', 'alert.resolved'],
    );
  });

  it('autoloop alerts export includes them and promtool check rules accepts the file', async () => {
    const found = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
    assert.equal(
      found.status,
      0,
      'promtool is missing: run scripts/install-test-deps.sh as root (apt-get install -y prometheus)',
    );
    const dir = mkdtempSync(join(tmpdir(), 'autoloop-service-rules-'));
    dirs.push(dir);
    writeFileSync(
      join(dir, 'autoloop.yaml'),
      `store: memory://
log: { file: false }
loops: {}
services:
  api: { command: "sleep 60" }
  db: { command: "sleep 60", disk: { criticalBelow: 5% } }
`,
    );
    const exported = await autoloop(['alerts', 'export', '--config', join(dir, 'autoloop.yaml')]);
    assert.equal(exported.code, 0, exported.stderr);
    const doc = parseYaml(exported.stdout) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    const rules = doc.groups.flatMap((g) => g.rules);
    assert.deepEqual(
      rules.map((r) => [r.alert, r.expr]),
      [
        ['AutoloopServiceFailing', 'autoloop_service_failing == 1'],
        ['AutoloopServiceDiskLow', 'autoloop_service_disk_level >= 1'],
      ],
    );
    const file = join(dir, 'rules.yaml');
    writeFileSync(file, exported.stdout);
    const checked = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    assert.equal(checked.status, 0, checked.stdout + checked.stderr);
    assert.match(checked.stdout, /SUCCESS: 2 rules found/);
  });
});
