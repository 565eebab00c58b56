// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings test the literal ${VAR} syntax of config files
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from './config-error.ts';
import { parseConfigText } from './load-config.ts';
import { parseSize } from './services-schema.ts';

const parse = (text: string, env: Record<string, string> = {}) =>
  parseConfigText(text, { file: '/srv/app/autoloop.yaml', env });

async function messages(text: string): Promise<string[]> {
  const error = await parse(text).then(
    () => assert.fail('expected a ConfigError'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConfigError);
  return error.message.split('\n');
}

describe('services: config', () => {
  it('fills the defaults of issue 15: backoff 100 ms ×2 up to 30 s, reset after 60 s, SIGTERM, 10 s kill timeout', async () => {
    const config = await parse('loops: {}\nservices:\n  api:\n    command: node server.js\n');
    const [api] = config.services;
    assert.ok(api);
    assert.deepEqual(api.argv, ['/bin/sh', '-c', 'node server.js']);
    assert.equal(api.cwd, '/srv/app');
    assert.deepEqual(api.restart, {
      policy: 'always',
      backoff: { initialMs: 100, multiplier: 2, maxMs: 30_000, resetAfterMs: 60_000 },
      limit: { restarts: 5, windowMs: 60_000, onLimit: 'retry' },
    });
    assert.equal(api.stopSignal, 'SIGTERM');
    assert.equal(api.killTimeoutMs, 10_000);
    assert.equal(api.ready, null);
    assert.equal(api.memory, null);
    assert.equal(api.health, null);
    assert.deepEqual(api.logs, { file: '/srv/app/.autoloop/services/api.log', size: '10M', keep: 5, interval: null });
    assert.ok(Object.isFrozen(api));
  });

  it('maps every key: argv, cwd, env with ${VAR:-default}, instances, dependsOn, limits, health, ready, logs', async () => {
    const config = await parse(
      `loops: {}
services:
  db:
    command: [redis-server, --port, "6390"]
    ready: { port: 6390, timeout: 5s }
  api:
    command: node server.js
    cwd: ./app
    env: { PORT: "\${PORT:-3000}", DEBUG: true }
    instances: 2
    dependsOn: [db]
    restart: { policy: on-failure, backoff: { initial: 1s, multiplier: 1, max: 1s }, limit: { restarts: 3, window: 10m, onLimit: stop } }
    stopSignal: SIGINT
    killTimeout: 3s
    limits: { memory: 85%, samples: 3 }
    health: { http: "http://127.0.0.1:3000/health", interval: 10s, timeout: 2s, failures: 2 }
    logs: { file: /var/log/api.log, size: 50M, keep: 3, interval: 12h }
  worker:
    command: ./worker
    restart: never
    limits: { memory: 256MB }
    health: { command: "test -f /tmp/ok" }
    ready: { log: "listening on \\\\d+" }
    logs: false
`,
      { PORT: '4000' },
    );
    const [db, api, worker] = config.services;
    assert.deepEqual(db?.argv, ['redis-server', '--port', '6390']);
    assert.deepEqual(db?.ready, { kind: 'port', host: '127.0.0.1', port: 6390, timeoutMs: 5_000 });
    assert.equal(api?.cwd, resolve('/srv/app/app'));
    assert.deepEqual(api?.env, { PORT: '4000', DEBUG: 'true' });
    assert.equal(api?.instances, 2);
    assert.deepEqual(api?.dependsOn, ['db']);
    assert.equal(api?.restart.policy, 'on-failure');
    assert.deepEqual(api?.restart.limit, { restarts: 3, windowMs: 600_000, onLimit: 'stop' });
    assert.equal(api?.restart.backoff.multiplier, 1);
    assert.equal(api?.stopSignal, 'SIGINT');
    assert.equal(api?.killTimeoutMs, 3_000);
    assert.deepEqual(api?.memory, { limit: { percent: 85 }, samples: 3 });
    assert.deepEqual(api?.health, {
      kind: 'http',
      url: 'http://127.0.0.1:3000/health',
      intervalMs: 10_000,
      timeoutMs: 2_000,
      failures: 2,
      startPeriodMs: 0,
    });
    assert.deepEqual(api?.logs, { file: '/var/log/api.log', size: '50M', keep: 3, interval: '12h' });
    assert.equal(worker?.restart.policy, 'never');
    assert.deepEqual(worker?.memory, { limit: { bytes: 256 * 1024 * 1024 }, samples: 2 });
    assert.equal(worker?.health?.kind, 'command');
    assert.equal(worker?.ready?.kind, 'log');
    assert.ok(worker?.ready?.kind === 'log' && worker.ready.pattern.test('listening on 8080'));
    assert.equal(worker?.logs, null);
  });

  it('rejects two readiness kinds and a bad size, each with its path', async () => {
    const text = (
      await messages(`loops: {}
services:
  c: { command: x, ready: { port: 1, log: up } }
  d: { command: x, limits: { memory: lots } }
`)
    ).join('\n');
    assert.match(text, /services\.c\.ready: expected exactly one of port, http or log, got port and log/);
    assert.match(text, /services\.d\.limits\.memory: expected a size like "512MB"/);
  });

  it('rejects an unknown dependsOn and a dependency cycle', async () => {
    const text = (
      await messages(`loops: {}
services:
  a: { command: x, dependsOn: [b] }
  b: { command: x, dependsOn: [a] }
  c: { command: x, dependsOn: [nope] }
`)
    ).join('\n');
    assert.match(text, /services\.c\.dependsOn\[0\]: expected another service under services:/);
    assert.match(
      text,
      /services\.a\.dependsOn: expected services that do not depend on each other in a cycle, got a -> b -> a/,
    );
  });

  it('rejects a misspelt key with the closest known one', async () => {
    const lines = await messages('loops: {}\nservices:\n  a: { command: x, killTimout: 3s }\n');
    assert.match(lines.join('\n'), /services\.a.*killTimout/);
  });

  it('hang.silentFor becomes silentForMs; too short or misspelt is an error at its path', async () => {
    const config = await parse(
      'loops: {}\nservices:\n  a: { command: x, hang: { silentFor: 5m } }\n  b: { command: x }\n',
    );
    assert.deepEqual(config.services[0]?.hang, { silentForMs: 300_000 });
    assert.equal(config.services[1]?.hang, null);
    const text = (
      await messages(
        'loops: {}\nservices:\n  a: { command: x, hang: { silentFor: 10ms } }\n  b: { command: x, hang: { silent: 5m } }\n',
      )
    ).join('\n');
    assert.match(text, /services\.a\.hang\.silentFor: expected/);
    assert.match(text, /services\.b\.hang.*silent/);
  });

  it('limits.cpu and disk: defaults, the seed max_cpu_percent / max_disk_percent shapes, errors at their paths', async () => {
    const config = await parse(`loops: {}
services:
  a:
    command: x
    cwd: ./app
    limits: { cpu: { percent: 90 } }
    disk: { criticalBelow: 5% }
  b:
    command: x
    limits: { cpu: { percent: 150, window: 30s, restart: true } }
    disk: { path: /var/data, warnBelow: 10GB, criticalBelow: 1GB }
`);
    const [a, b] = config.services;
    assert.deepEqual(a?.cpu, { percent: 90, windowMs: 60_000, restart: false });
    assert.deepEqual(a?.disk, { path: '/srv/app/app', warnBelow: null, criticalBelow: { percent: 5 } });
    assert.deepEqual(b?.cpu, { percent: 150, windowMs: 30_000, restart: true });
    assert.deepEqual(b?.disk, {
      path: '/var/data',
      warnBelow: { bytes: 10 * 1024 ** 3 },
      criticalBelow: { bytes: 1024 ** 3 },
    });
    const text = (
      await messages(`loops: {}
services:
  c: { command: x, limits: { cpu: { percent: -1 } } }
  d: { command: x, limits: { cpu: { percent: 50, window: 10ms } } }
  e: { command: x, disk: { path: /data } }
  f: { command: x, disk: { warnBelow: plenty } }
`)
    ).join('\n');
    assert.match(text, /services\.c\.limits\.cpu\.percent: expected/);
    assert.match(text, /services\.d\.limits\.cpu\.window: expected/);
    assert.match(text, /services\.e\.disk: expected warnBelow, criticalBelow or both/);
    assert.match(text, /services\.f\.disk\.warnBelow: expected a size like "512MB"/);
  });

  it('parseSize reads bytes, binary units and percents', () => {
    assert.deepEqual(parseSize('512MB'), { bytes: 512 * 1024 ** 2 });
    assert.deepEqual(parseSize('1.5G'), { bytes: 1.5 * 1024 ** 3 });
    assert.deepEqual(parseSize('256mib'), { bytes: 256 * 1024 ** 2 });
    assert.deepEqual(parseSize(1000), { bytes: 1000 });
    assert.deepEqual(parseSize('85%'), { percent: 85 });
    assert.equal(parseSize('0%'), undefined);
    assert.equal(parseSize('150%'), undefined);
    assert.equal(parseSize('lots'), undefined);
  });
});
