/**
 * `autoloop services` against a real daemon: a config with `services:`
 * started in the background, the pm2-ls-like table and its JSON, the
 * per-service health component and metrics, and `stop` taking the services'
 * process groups down with it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ServicesView } from '../src/cli/commands/services.ts';
import { groupAlive, signalGroup } from '../src/supervisor/process-group.ts';
import { autoloop, killDaemon } from './support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'autoloop-cli-services-'));
const pgids: number[] = [];
after(() => {
  const leaked = killDaemon(dir);
  for (const pgid of pgids) if (groupAlive(pgid)) signalGroup(pgid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  assert.equal(leaked, null, 'the daemon was stopped by the test');
});

describe('autoloop services', { timeout: 120_000 }, () => {
  it("lists the running daemon's services as a table and as JSON; stop stops their groups", async () => {
    const config = join(dir, 'autoloop.yaml');
    writeFileSync(
      config,
      `http: { host: 127.0.0.1, port: 0 }
shutdown: { grace: 5s }
loops: {}
services:
  idle:
    command: [${JSON.stringify(process.execPath)}, -e, "setInterval(() => {}, 1000)"]
    limits: { memory: 512MB }
  crashy:
    command: "exit 3"
    restart: { backoff: { initial: 10m, max: 10m } }
`,
    );
    const started = await autoloop(['start', '--config', config], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(started.code, 0, started.stderr);
    // The first sample comes within a second.
    let view: ServicesView | undefined;
    for (let i = 0; i < 50; i++) {
      const json = await autoloop(['services', '--json', '--config', config], { cwd: dir });
      view = JSON.parse(json.stdout) as ServicesView;
      const idle = view.source === 'daemon' ? view.instances.find((s) => s.service === 'idle') : undefined;
      if (idle?.rssBytes) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(view && view.source === 'daemon');
    const idle = view.instances.find((s) => s.service === 'idle');
    const crashy = view.instances.find((s) => s.service === 'crashy');
    assert.equal(idle?.state, 'running');
    assert.ok((idle?.rssBytes ?? 0) > 1024 * 1024, 'memory sampled');
    assert.equal(idle?.memoryLimitBytes, 512 * 1024 * 1024);
    assert.equal(crashy?.state, 'backoff');
    assert.equal(crashy?.lastExit?.code, 3);
    pgids.push(idle?.pid as number);

    const text = await autoloop(['services', '--config', config], { cwd: dir });
    assert.equal(text.code, 1, 'exit 1: crashy is not running');
    const lines = text.stdout.split('\n');
    assert.match(lines[0] ?? '', /^name\s+state\s+pid\s+uptime\s+restarts\s+cpu\s+memory\s+detail$/);
    assert.match(
      text.stdout,
      new RegExp(`^idle\\s+running\\s+${idle?.pid}\\s+\\d+s\\s+0\\s+[\\d.]+s\\s+\\d+ MB / 512 MB`, 'm'),
    );
    assert.match(text.stdout, /^crashy\s+backoff\s+-\s+-\s+1\s+-\s+-\s+restart 1 at .* \(exited with code 3\)$/m);

    const health = await autoloop(['health', '--json', '--config', config], { cwd: dir });
    const components = (JSON.parse(health.stdout) as { components: Record<string, { healthy: boolean }> }).components;
    assert.equal(components['service:idle']?.healthy, true);
    assert.equal(components['service:crashy']?.healthy, false);

    const stopped = await autoloop(['stop', '--config', config], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(groupAlive(idle?.pid as number), false, 'the service stopped with the daemon');

    const offline = await autoloop(['services', '--config', config], { cwd: dir });
    assert.equal(offline.code, 1);
    assert.match(offline.stderr, /autoloop is not running; the store's last records:/);
    assert.match(offline.stdout, /^idle\s+\S+\s+stopped\s+-\s+0\s+no$/m);
  });
});
