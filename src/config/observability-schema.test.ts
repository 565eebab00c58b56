import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from './config-error.ts';
import { parseConfigText, type ResolvedConfig } from './load-config.ts';

const LOOPS = 'loops:\n  demo:\n    trigger: { interval: 1m }\n    act: { command: "true" }\n';
const parse = (settings: string): Promise<ResolvedConfig> =>
  parseConfigText(`${settings}\n${LOOPS}`, { file: 'conf/autoloop.yaml', env: {} });

async function errorLines(settings: string): Promise<string[]> {
  const error = await parse(settings).then(
    () => assert.fail('expected a ConfigError'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConfigError, String(error));
  return error.message.split('\n');
}

describe('config: log, alerts, webhooks, tracing', () => {
  it('has defaults: a rotating log file beside the config, default alerts, no webhooks, tracing off', async () => {
    const config = await parse('');
    assert.deepEqual(config.log, {
      level: 'info',
      file: { path: resolve('conf/.autoloop/autoloop.log'), size: '10M', interval: '1d', keep: 7, compress: false },
    });
    assert.deepEqual(config.alerts, { defaults: true, intervalMs: 15_000, rules: [] });
    assert.deepEqual(config.webhooks, []);
    assert.deepEqual(config.tracing, { enabled: false, serviceName: 'autoloop' });
    assert.ok(Object.isFrozen(config.log) && Object.isFrozen(config.alerts) && Object.isFrozen(config.webhooks));
  });

  it('reads every key', async () => {
    const config = await parse(`
log:
  level: debug
  file: /var/log/autoloop/daemon.log
  rotate: { size: 50M, interval: 6h, keep: 3, compress: true }
alerts:
  defaults: false
  interval: 30s
  rules:
    - name: DemoFailing
      metric: autoloop_items_total
      labels: { loop: demo, outcome: failed }
      function: rate
      window: 10m
      op: ">"
      threshold: 0.5
      for: 2m
      severity: critical
      summary: "{{ $labels.loop }} items fail"
    - name: SkipShare
      metric: autoloop_cycles_total
      labels: { outcome: skipped }
      function: increase
      by: [loop]
      divideBy: { metric: autoloop_cycles_total }
      op: ">="
      threshold: 0.5
webhooks:
  - url: https://hooks.example.com/T000/SECRET
    headers: { Authorization: "Bearer x" }
    timeout: 2s
  - url: http://127.0.0.1:9000/alerts
    events: [alert.firing]
    attempts: 2
tracing: { enabled: true, serviceName: signals }
`);
    assert.deepEqual(config.log, {
      level: 'debug',
      file: { path: '/var/log/autoloop/daemon.log', size: '50M', interval: '6h', keep: 3, compress: true },
    });
    assert.equal(config.alerts.defaults, false);
    assert.equal(config.alerts.intervalMs, 30_000);
    const [failing, share] = config.alerts.rules;
    assert.deepEqual(failing, {
      name: 'DemoFailing',
      metric: 'autoloop_items_total',
      matchers: [
        { label: 'loop', op: '=', value: 'demo' },
        { label: 'outcome', op: '=', value: 'failed' },
      ],
      function: 'rate',
      windowMs: 600_000,
      quantile: null,
      by: null,
      aggregate: 'sum',
      divideBy: [],
      op: '>',
      threshold: 0.5,
      forMs: 120_000,
      severity: 'critical',
      summary: '{{ $labels.loop }} items fail',
    });
    assert.equal(share?.windowMs, 300_000);
    assert.deepEqual(share?.divideBy, [{ metric: 'autoloop_cycles_total', matchers: [] }]);
    assert.equal(share?.severity, 'warning');
    assert.deepEqual(config.webhooks, [
      {
        url: 'https://hooks.example.com/T000/SECRET',
        events: ['alert.firing', 'alert.resolved'],
        headers: { Authorization: 'Bearer x' },
        timeoutMs: 2_000,
        attempts: 5,
      },
      { url: 'http://127.0.0.1:9000/alerts', events: ['alert.firing'], headers: {}, timeoutMs: 5_000, attempts: 2 },
    ]);
    assert.deepEqual(config.tracing, { enabled: true, serviceName: 'signals' });
  });

  it('log.file: false means no file', async () => {
    assert.equal((await parse('log: { file: false }')).log.file, null);
    assert.equal((await parse('log: { rotate: { interval: false } }')).log.file?.interval, null);
  });

  it('reports every bad value in the one template', async () => {
    const lines = await errorLines(`
log:
  level: loud
  rotate: { size: 10MB, interval: 7h, keep: 0 }
alerts:
  rules:
    - { name: A, metric: "bad metric", op: "=>", threshold: x }
    - { name: B, metric: m, function: value, window: 5m, op: ">", threshold: 1, labels: { loop: "=~(" } }
    - { name: B, metric: m, op: ">", threshold: 1, severity: page }
    - { name: C, metric: m, function: quantile, op: ">", threshold: 1 }
    - { name: D, metric: m, quantile: 0.9, op: ">", threshold: 1 }
webhooks:
  - { url: "ftp://x", events: [cycle.finished] }
tracing: { enabled: yes }
`);
    assert.deepEqual(lines, [
      'conf/autoloop.yaml: log.level: expected one of "trace", "debug", "info", "warn", "error", "fatal", "silent", got "loud"',
      'conf/autoloop.yaml: log.rotate.size: expected a size like "10M" (a whole number and B, K, M or G), got "10MB"',
      'conf/autoloop.yaml: log.rotate.interval: expected an interval like "1d", "12h" or "30m" (hours dividing 24, minutes dividing 60), or false, got "7h"',
      'conf/autoloop.yaml: log.rotate.keep: expected a number >= 1, got 0',
      'conf/autoloop.yaml: alerts.rules[0].metric: expected a metric name like "autoloop_cycles_total", got "bad metric"',
      'conf/autoloop.yaml: alerts.rules[0].op: expected one of ">", ">=", "<", "<=", "==", "!=", got "=>"',
      'conf/autoloop.yaml: alerts.rules[0].threshold: expected number, got string "x"',
      'conf/autoloop.yaml: alerts.rules[1].labels.loop: expected a valid regular expression after =~ or !~, got "=~("; matchers are "value", "!=value", "=~regex" or "!~regex", as in PromQL',
      'conf/autoloop.yaml: alerts.rules[1].window: expected no window with function value, got "5m"; window is the range of rate, increase and quantile; remove it or set function: rate',
      'conf/autoloop.yaml: alerts.rules[2].severity: expected one of "info", "warning", "critical", got "page"',
      'conf/autoloop.yaml: alerts.rules[3].quantile: expected a quantile like 0.95 with function quantile, got nothing; function: quantile reads a histogram, e.g. metric: autoloop_item_attempt_duration_seconds',
      'conf/autoloop.yaml: alerts.rules[4].quantile: expected no quantile with function value, got 0.9; quantile applies to function: quantile only',
      'conf/autoloop.yaml: webhooks[0].url: expected an http(s) URL like "https://hooks.example.com/autoloop", got "ftp://x"',
      'conf/autoloop.yaml: webhooks[0].events[0]: expected one of "alert.firing", "alert.resolved", "result.published", "service.started", "service.ready", "service.not_ready", "service.waiting", "service.exited", "service.restarting", "service.stopped", "service.memory_limit", "service.hung", "service.cpu_high", "service.disk_low", "service.disk_ok", "service.health_failed", "service.failing", "service.recovered", "service.orphan_stopped", "backup.completed", "backup.failed", "backup.restored", got "cycle.finished"',
      'conf/autoloop.yaml: tracing.enabled: expected boolean (true or false), got string "yes"',
    ]);
  });

  it('rejects two user rules with one name', async () => {
    const lines = await errorLines(`
alerts:
  rules:
    - { name: A, metric: m, op: ">", threshold: 1 }
    - { name: A, metric: n, op: ">", threshold: 1 }
`);
    assert.deepEqual(lines, [
      'conf/autoloop.yaml: alerts.rules[1].name: expected a unique rule name, got a second rule named "A"',
    ]);
  });
});
