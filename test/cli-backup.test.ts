/**
 * `autoloop backup` and the restore at start, through the real binary: a
 * backup of a store while nothing runs, `--list`, then the store file
 * corrupted in the middle and `autoloop start`: the daemon restores the
 * newest valid backup before the store opens, logs which one, and records
 * `backup.restored` in the event log.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { autoloop, killDaemon } from './support/cli.ts';
import { corruptMiddle } from './support/corrupt-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'autoloop-cli-backup-'));
after(() => {
  const leaked = killDaemon(dir);
  rmSync(dir, { recursive: true, force: true });
  assert.equal(leaked, null, 'the daemon was stopped by the test');
});

const db = join(dir, '.autoloop', 'state.db');
const config = join(dir, 'autoloop.yaml');

async function put(generation: number, count: number): Promise<void> {
  const store = SqliteStore.open(db);
  for (let n = 0; n < count; n++) {
    await store.documents.put('test', `k${n}`, { generation, pad: 'z'.repeat(300) }, { now: Date.now() });
  }
  await store.close();
}

describe('autoloop backup', { timeout: 180_000 }, () => {
  it('backs up and lists; a corrupted store is restored from the newest valid backup at start, named in the log', async () => {
    writeFileSync(
      config,
      `http: { host: 127.0.0.1, port: 0 }
shutdown: { grace: 2s }
backup: { every: 1h, keep: 2, dir: ./backups }
loops: {}
`,
    );
    await put(1, 3000);
    const made = await autoloop(['backup', '--config', config], { cwd: dir });
    assert.equal(made.code, 0, made.stderr);
    assert.match(
      made.stdout,
      /^backed up .*state\.db to .*backups\/state-\d{8}T\d{9}Z\.db \(\d+ bytes, \d+ ms, integrity ok\)$/m,
    );
    const listed = await autoloop(['backup', '--list', '--json', '--config', config], { cwd: dir });
    const backups = (JSON.parse(listed.stdout) as { backups: Array<{ file: string }> }).backups;
    assert.equal(backups.length, 1);
    const newest = backups[0]?.file as string;

    await put(2, 10);
    corruptMiddle(db, 8);

    const started = await autoloop(['start', '--config', config], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(started.code, 0, started.stderr);
    const log = readFileSync(join(dir, '.autoloop', 'autoloop.log'), 'utf8');
    assert.match(log, new RegExp(`store restored from backup ${basename(newest)}`));
    assert.match(log, /the store file is corrupt/);

    const status = await autoloop(['status', '--json', '--config', config], { cwd: dir });
    assert.equal(status.code, 0, status.stderr);
    const stopped = await autoloop(['stop', '--config', config], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(stopped.code, 0, stopped.stderr);

    const store = SqliteStore.open(db);
    try {
      const k0 = (await store.documents.get('test', 'k0'))?.value as { generation: number } | undefined;
      assert.equal(k0?.generation, 1);
      const restored = (await store.events.latest({ limit: 100 })).find((e) => e.type === 'backup.restored');
      assert.equal((restored?.data as { backup: string } | undefined)?.backup, newest);
    } finally {
      await store.close();
    }
    const kept = readFileSync(join(dir, '.autoloop', 'autoloop.log'), 'utf8').match(/"corrupt":"([^"]+)"/)?.[1];
    assert.ok(kept && existsSync(kept), 'the corrupt file is kept for a post-mortem');
  });

  it('refuses a store that is not SQLite, with exit 2', async () => {
    const other = join(dir, 'memory.yaml');
    writeFileSync(other, 'store: memory://\nloops: {}\n');
    const result = await autoloop(['backup', '--config', other], { cwd: dir });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /backup: expected a sqlite:\/\/ store, got "memory:\/\/"/);
  });
});
