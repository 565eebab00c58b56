import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  type InstanceFile,
  instancesDir,
  listInstances,
  removeInstanceFile,
  writeInstanceFile,
} from './instance-files.ts';

const dir = mkdtempSync(join(tmpdir(), 'autoloop-instance-files-'));
const config = join(dir, 'autoloop.yaml');
const children: Array<ReturnType<typeof spawn>> = [];
after(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A live process that looks like an instance: its command line mentions autoloop. */
function fakeInstance(): number {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'autoloop-fake'], { stdio: 'ignore' });
  children.push(child);
  return child.pid as number;
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

function record(pid: number, startedAt: string): InstanceFile {
  return {
    pid,
    url: 'http://127.0.0.1:41234',
    startedAt,
    logFile: null,
    config,
    graceMs: 30_000,
    instance: `host:${pid}:0123456789abcdef`,
    host: '127.0.0.1',
    port: 41234,
    pidFile: null,
    token: 'a-token-of-twenty-chars',
  };
}

describe('instance files', () => {
  it('are written 0600 in a 0700 directory beside the config, and listed oldest first', () => {
    const older = fakeInstance();
    const newer = fakeInstance();
    writeInstanceFile(record(newer, '2026-12-07T10:00:01.000Z'));
    const path = writeInstanceFile(record(older, '2026-12-07T10:00:00.000Z'));
    assert.equal(path, join(dir, '.autoloop', 'instances', `${older}.json`));
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(instancesDir(config)).mode & 0o777, 0o700);
    assert.deepEqual(
      listInstances(config).map((r) => r.pid),
      [older, newer],
    );
    removeInstanceFile(config, older);
    assert.ok(existsSync(instancesDir(config)), 'kept while another instance has its file there');
    removeInstanceFile(config, newer);
    assert.deepEqual(listInstances(config), []);
    assert.equal(existsSync(join(dir, '.autoloop')), false, 'the last one out leaves no empty directories');
  });

  it('a file whose pid is gone, or that is garbled, is stale and removed when listed', async () => {
    const gone = await deadPid();
    const live = fakeInstance();
    writeInstanceFile(record(gone, '2026-12-07T10:00:00.000Z'));
    writeInstanceFile(record(live, '2026-12-07T10:00:00.000Z'));
    // Above any pid_max (2^22): a fixed small number was once the live child's own pid.
    const garbled = join(instancesDir(config), '99999999.json');
    writeFileSync(garbled, '{"pid": 12');
    assert.deepEqual(
      listInstances(config).map((r) => r.pid),
      [live],
    );
    assert.equal(existsSync(join(instancesDir(config), `${gone}.json`)), false);
    assert.equal(existsSync(garbled), false);
    removeInstanceFile(config, live);
  });

  it('a missing directory lists nothing', () => {
    assert.deepEqual(listInstances(join(dir, 'elsewhere', 'autoloop.yaml')), []);
  });
});
