import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CliExit } from './context.ts';
import { claimPidFile, daemonPaths, readDaemon, removeDaemonFiles, writeState } from './daemon-files.ts';

const dir = mkdtempSync(join(tmpdir(), 'autoloop-daemon-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A live process that looks like a daemon: its command line mentions autoloop. */
function fakeDaemon() {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'autoloop-fake-daemon'], { stdio: 'ignore' });
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

describe('daemon files', () => {
  it('live beside the config by default; the state file sits next to a custom pidfile', () => {
    const defaults = daemonPaths('/srv/app/autoloop.yaml', {}, '/cwd');
    assert.deepEqual(defaults, {
      pidFile: '/srv/app/.autoloop/autoloop.pid',
      stateFile: '/srv/app/.autoloop/autoloop.json',
      logFile: '/srv/app/.autoloop/autoloop.log',
      outFile: '/srv/app/.autoloop/autoloop.out',
    });
    assert.equal(daemonPaths('/srv/app/autoloop.yaml', {}, '/cwd', '/var/log/loops.log').logFile, '/var/log/loops.log');
    const custom = daemonPaths('/srv/app/autoloop.yaml', { pidFile: 'run/prices.pid', logFile: 'x.log' }, '/cwd');
    assert.equal(custom.stateFile, '/cwd/run/prices.json');
    assert.equal(custom.logFile, '/cwd/x.log');
  });

  it('stopped -> running (claimed by a live pid) -> a second claim refused -> stale once the pid is gone', async () => {
    const paths = daemonPaths(join(dir, 'a', 'autoloop.yaml'), {}, dir);
    assert.equal(readDaemon(paths).kind, 'stopped');
    const daemon = fakeDaemon();
    const pid = daemon.pid as number;
    try {
      assert.deepEqual(claimPidFile(paths, pid), { replaced: null });
      writeState(paths, { pid, url: 'http://127.0.0.1:1', startedAt: '', logFile: null, config: '', graceMs: 0 });
      const running = readDaemon(paths);
      assert.equal(running.kind, 'running');
      assert.equal(running.kind === 'running' && running.state?.url, 'http://127.0.0.1:1');
      assert.throws(
        () => claimPidFile(paths, process.pid),
        (e: unknown) => e instanceof CliExit && e.code === 1,
      );
    } finally {
      daemon.kill('SIGKILL');
      await new Promise((resolve) => daemon.once('exit', resolve));
    }
    assert.equal(readDaemon(paths).kind, 'stale', 'a killed daemon leaves a stale pidfile');

    const gone = await deadPid();
    writeFileSync(paths.pidFile, `${gone}\n`);
    assert.deepEqual(readDaemon(paths), { kind: 'stale', paths, pid: gone });
    writeState(paths, { pid: gone, url: null, startedAt: '', logFile: null, config: '', graceMs: 0 });
    assert.deepEqual(claimPidFile(paths, process.pid), { replaced: gone });
    assert.equal(existsSync(paths.stateFile), false, "the stale daemon's state file goes with it");
    assert.equal(readFileSync(paths.pidFile, 'utf8'), `${process.pid}\n`);
  });

  it('removes its files only while they name its pid; a garbled pidfile is stale', () => {
    const paths = daemonPaths(join(dir, 'b', 'autoloop.yaml'), {}, dir);
    claimPidFile(paths, process.pid);
    removeDaemonFiles(paths, process.pid + 1);
    assert.equal(existsSync(paths.pidFile), true);
    removeDaemonFiles(paths, process.pid);
    assert.equal(existsSync(paths.pidFile), false);
    claimPidFile(paths, process.pid);
    writeFileSync(paths.pidFile, 'not a pid\n');
    assert.equal(readDaemon(paths).kind, 'stale');
  });
});
