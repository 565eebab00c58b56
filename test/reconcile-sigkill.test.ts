/**
 * With real processes: `autoloop start` runs a reconcile loop whose
 * collector takes a while per key; SIGKILL mid-orchestration; a restart on
 * the same SQLite store finishes the remaining gaps, and no key whose file
 * already existed at the restart is collected again.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { spawnAutoloop, waitFor } from './support/cli.ts';

const KEYS = 8;
const COLLECT_MS = 700;
const dirs: string[] = [];
const children: Array<{ kill(signal: NodeJS.Signals): boolean; exitCode: number | null }> = [];
after(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function present(dir: string): string[] {
  const data = join(dir, 'data');
  return existsSync(data)
    ? readdirSync(data)
        .filter((f) => !f.startsWith('.'))
        .sort()
    : [];
}

function collections(dir: string): string[] {
  const log = join(dir, 'collections.log');
  return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : [];
}

describe('reconcile: SIGKILL mid-orchestration and restart', () => {
  it('the restart finishes the remaining gaps and collects no existing key again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'autoloop-reconcile-kill-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'data'));
    writeFileSync(
      join(dir, 'collect.mjs'),
      [
        "import { appendFileSync, renameSync, writeFileSync } from 'node:fs';",
        'const [path, key] = process.argv.slice(2);',
        "appendFileSync(new URL('./collections.log', import.meta.url), key + '\\n');",
        `await new Promise((r) => setTimeout(r, ${COLLECT_MS}));`,
        "writeFileSync(path + '.tmp', JSON.stringify({ key }));",
        "renameSync(path + '.tmp', path);",
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'autoloop.yaml'),
      [
        'store: sqlite://./state.db',
        'http: { host: 127.0.0.1, port: 0 }',
        'leases: { ttl: 2s }',
        'loops:',
        '  collect:',
        '    recipe: reconcile',
        '    trigger: { interval: 1h }',
        '    inventory: { dir: ./data }',
        `    coverage: { sources: { k: { key: "{value}.json", values: [${Array.from({ length: KEYS }, (_, i) => `k${i}`).join(', ')}] } } }`,
        `    collector: { command: "${process.execPath} ./collect.mjs {path} {key}", timeout: 30s }`,
        '    concurrency: 1',
        '    threshold: { minTasks: 1, every: 1s }',
      ].join('\n'),
    );
    const first = spawnAutoloop(['start', '--foreground', '--config', 'autoloop.yaml'], { cwd: dir });
    children.push(first);
    // Kill once a few keys are written: mid-orchestration, one collector running.
    await waitFor(first, () => present(dir).length >= 3, 60_000);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('close', r));
    // The collector that was running outlives its parent (own process group) and may still write its file.
    await new Promise((r) => setTimeout(r, COLLECT_MS + 500));
    const before = present(dir);
    const collectedBefore = collections(dir).length;
    assert.ok(before.length < KEYS, `killed before the end: ${before.join(' ')}`);

    const second = spawnAutoloop(['start', '--foreground', '--config', 'autoloop.yaml'], { cwd: dir });
    children.push(second);
    await waitFor(second, () => present(dir).length === KEYS, 90_000);
    second.kill('SIGTERM');
    await new Promise((r) => second.once('close', r));

    const after = collections(dir).slice(collectedBefore);
    const again = after.filter((key) => before.includes(`${key}.json`));
    assert.deepEqual(again, [], `keys collected again after the restart: ${again.join(' ')}`);
    assert.deepEqual(present(dir), Array.from({ length: KEYS }, (_, i) => `k${i}.json`).sort());
    assert.equal(new Set(after).size, after.length, `each remaining key once after the restart: ${after.join(' ')}`);
  });
});
