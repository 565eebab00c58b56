/**
 * examples/supervisor runs as documented: a copy of it in a temp dir,
 * started as a background daemon; within 45 s the flaky app has crash-looped,
 * the leaky one was restarted for memory and the hanging one for its health
 * check; `stop` leaves no service process behind.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ServicesView } from '../src/cli/commands/services.ts';
import { groupAlive, signalGroup } from '../src/supervisor/process-group.ts';
import { autoloop, killDaemon } from './support/cli.ts';
import { freePort } from './support/supervisor-harness.ts';

const EXAMPLE = resolve(fileURLToPath(new URL('../examples/supervisor', import.meta.url)));
const dir = mkdtempSync(join(tmpdir(), 'autoloop-example-supervisor-'));
const pgids = new Set<number>();
after(() => {
  const leaked = killDaemon(dir);
  for (const pgid of pgids) if (groupAlive(pgid)) signalGroup(pgid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  assert.equal(leaked, null, 'the daemon was stopped by the test');
});

describe('examples/supervisor', { timeout: 120_000 }, () => {
  it('restarts the flaky, the leaky and the hanging app, and stops them all with the daemon', async () => {
    cpSync(EXAMPLE, dir, { recursive: true, filter: (src) => !src.includes('.autoloop') });
    const config = join(dir, 'autoloop.yaml');
    const env = { PORT: '0', HANGS_PORT: String(await freePort()), HANG_AFTER_MS: '1500' };
    const started = await autoloop(['start', '--config', config], { cwd: dir, env, timeoutMs: 60_000 });
    assert.equal(started.code, 0, started.stderr);
    let view: ServicesView | undefined;
    const restarts = (name: string) =>
      view?.source === 'daemon'
        ? Math.min(...view.instances.filter((i) => i.service === name).map((i) => i.restarts))
        : 0;
    const until = Date.now() + 45_000;
    while (Date.now() < until) {
      const json = await autoloop(['services', '--json', '--config', config], { cwd: dir });
      view = JSON.parse(json.stdout) as ServicesView;
      if (view.source === 'daemon') for (const i of view.instances) if (i.pid) pgids.add(i.pid);
      if (restarts('flaky') >= 3 && restarts('leaky') >= 1 && restarts('hangs') >= 1) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(view?.source === 'daemon');
    assert.equal(view.instances.filter((i) => i.service === 'flaky').length, 2, 'two flaky instances');
    assert.ok(restarts('flaky') >= 3, `flaky restarted ${restarts('flaky')} times`);
    assert.ok(restarts('leaky') >= 1, 'leaky restarted for memory');
    assert.ok(restarts('hangs') >= 1, 'hangs restarted for its health check');
    const hangs = view.instances.find((i) => i.service === 'hangs');
    assert.match(hangs?.lastExit?.reason ?? '', /health check failed 3 times in a row/);
    const leaky = view.instances.find((i) => i.service === 'leaky');
    assert.match(leaky?.lastExit?.reason ?? '', /over the limit of 256 MB/);

    const stopped = await autoloop(['stop', '--config', config], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(stopped.code, 0, stopped.stderr);
    for (const pgid of pgids) assert.equal(groupAlive(pgid), false, `group ${pgid} stopped with the daemon`);
  });
});
