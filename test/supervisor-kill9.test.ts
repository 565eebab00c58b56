/**
 * SIGKILL of the supervisor, then a new one on the same store: the process
 * groups the dead one recorded are found and stopped before the services
 * start again, so no orphan is left (checked by process group) and each
 * service runs exactly once.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { groupAlive, signalGroup } from '../src/supervisor/process-group.ts';
import { groupsWithEnv, waitUntil } from './support/supervisor-harness.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const HOST = join(ROOT, 'test/fixtures/services/supervisor-host.mts');
const MARK = `kill9-${process.pid}-${Date.now()}`;
const dir = mkdtempSync(join(tmpdir(), 'autoloop-kill9-'));
const hosts: ChildProcess[] = [];

after(() => {
  for (const host of hosts) if (host.exitCode === null && host.signalCode === null) host.kill('SIGKILL');
  for (const name of ['web', 'worker']) {
    for (const pgid of groupsWithEnv('AUTOLOOP_SERVICE', name).keys()) {
      if (markedGroups(name).includes(pgid)) signalGroup(pgid, 'SIGKILL');
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Groups of `service` started by this test (their members carry TEST_MARK). */
function markedGroups(service: string): number[] {
  const marked = new Set(groupsWithEnv('TEST_MARK', MARK).keys());
  return [...groupsWithEnv('AUTOLOOP_SERVICE', service).keys()].filter((pgid) => marked.has(pgid));
}

const SERVICES = ['web', 'worker'].map((name) => ({
  name,
  // A leader with a child: the whole group must go.
  argv: ['/bin/sh', '-c', 'sleep 1000 & sleep 1000; wait'],
  env: { TEST_MARK: MARK },
  killTimeoutMs: 2_000,
}));

function startHost(): { child: ChildProcess; lines: Array<Record<string, unknown>> } {
  const child = spawn(process.execPath, ['--import', 'tsx', HOST], {
    cwd: ROOT,
    env: { ...process.env, STATE_DIR: dir, SERVICES: JSON.stringify(SERVICES) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  hosts.push(child);
  const lines: Array<Record<string, unknown>> = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not ours
    }
  });
  return { child, lines };
}

const started = (lines: Array<Record<string, unknown>>) => lines.filter((l) => l.type === 'service.started');

describe('SIGKILL of the supervisor', { timeout: 90_000 }, () => {
  it('the next supervisor stops the orphaned groups first: no orphan, each service running once', async () => {
    const first = startHost();
    await waitUntil('the first supervisor', () => first.lines.some((l) => l.type === 'host.started'), 30_000);
    const oldGroups = started(first.lines).map((l) => l.pid as number);
    assert.equal(oldGroups.length, 2);
    for (const name of ['web', 'worker']) assert.equal(markedGroups(name).length, 1, `${name} runs once`);

    first.child.kill('SIGKILL');
    await waitUntil('the first supervisor to die', () => first.child.signalCode === 'SIGKILL', 10_000);
    // Its services outlive it: the orphans the next supervisor must deal with.
    for (const pgid of oldGroups) assert.equal(groupAlive(pgid), true, `group ${pgid} outlived its supervisor`);

    const second = startHost();
    await waitUntil('the second supervisor', () => second.lines.some((l) => l.type === 'host.started'), 30_000);
    const stopped = second.lines.filter((l) => l.type === 'service.orphan_stopped');
    assert.deepEqual(stopped.map((l) => l.pgid).sort(), [...oldGroups].sort());
    // Orphans were stopped before anything started.
    const firstStart = second.lines.findIndex((l) => l.type === 'service.started');
    const lastOrphan = second.lines.map((l) => l.type).lastIndexOf('service.orphan_stopped');
    assert.ok(lastOrphan < firstStart, 'orphans stopped before the services started');
    for (const pgid of oldGroups) assert.equal(groupAlive(pgid), false, `old group ${pgid} is gone`);
    const newGroups = started(second.lines).map((l) => l.pid as number);
    for (const name of ['web', 'worker']) {
      assert.deepEqual(markedGroups(name).length, 1, `${name} runs exactly once`);
    }
    // The restart count came back from the store: the first run counted as none.
    assert.deepEqual(
      started(second.lines).map((l) => l.restarts),
      [0, 0],
    );

    second.child.kill('SIGTERM');
    await waitUntil('the second supervisor to stop', () => second.child.exitCode !== null, 30_000);
    for (const pgid of newGroups) assert.equal(groupAlive(pgid), false, `group ${pgid} stopped with its supervisor`);
    for (const name of ['web', 'worker']) assert.equal(markedGroups(name).length, 0);
  });
});
