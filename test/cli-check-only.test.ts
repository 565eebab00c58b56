/**
 * `autoloop start --check-only` (seed 003's `startup_enhanced.py
 * --check-only`): the report, its exit codes 0/1/2, and that it starts
 * nothing.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { autoloop, pidFileIn } from './support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'autoloop-check-only-'));
let held: Server | undefined;
after(() => {
  held?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('autoloop start --check-only', { timeout: 120_000 }, () => {
  it('reports every check as ok and exits 0 for a config that can start; starts nothing', async () => {
    const store = SqliteStore.open(join(dir, '.autoloop', 'state.db'));
    await store.documents.put('t', 'k', 1, { now: Date.now() });
    await store.close();
    const config = join(dir, 'good.yaml');
    writeFileSync(
      config,
      `http: { host: 127.0.0.1, port: 0 }
backup: { every: 1h, keep: 2 }
loops: {}
services:
  app:
    command: [node, -e, "0"]
  sh:
    command: "exec sleep 1"
`,
    );
    const r = await autoloop(['start', '--check-only', '--config', config], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^ok {4}config: .*good\.yaml: 0 loop\(s\), 2 service\(s\)$/m);
    assert.match(r.stdout, /^ok {4}services\.app\.command: node → \/.*node$/m);
    assert.match(r.stdout, /^ok {4}store: .*state\.db opens, quick_check ok$/m);
    assert.match(r.stdout, /^ok {4}backup\.dir: .*backups writable$/m);
    assert.match(r.stdout, /^ready to start \(nothing was started\)$/m);
    assert.equal(existsSync(pidFileIn(dir)), false, 'no daemon');
  });

  it('exits 1 naming a missing program and a port in use, with --json', async () => {
    held = createServer();
    await new Promise<void>((resolve) => held?.listen(0, '127.0.0.1', resolve));
    const port = (held.address() as { port: number }).port;
    const config = join(dir, 'bad.yaml');
    writeFileSync(
      config,
      `http: { host: 127.0.0.1, port: ${port} }
loops: {}
services:
  app:
    command: [no-such-program-for-autoloop, --serve]
    cwd: ./missing-dir
`,
    );
    const r = await autoloop(['start', '--check-only', '--json', '--config', config], { cwd: dir });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      checks: Array<{ status: string; what: string; detail: string }>;
    };
    assert.equal(report.ok, false);
    const failed = Object.fromEntries(report.checks.filter((c) => c.status === 'fail').map((c) => [c.what, c.detail]));
    assert.match(failed['services.app.command'] ?? '', /no-such-program-for-autoloop: not found on PATH/);
    assert.match(failed['services.app.cwd'] ?? '', /missing-dir: no such directory/);
    assert.equal(failed['http.port'], `127.0.0.1:${port} is in use`);
  });

  it('exits 2 for a config that does not validate', async () => {
    const config = join(dir, 'invalid.yaml');
    writeFileSync(config, 'loops: {}\nbackup: { keep: 0 }\n');
    const r = await autoloop(['start', '--check-only', '--config', config], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /backup\.keep/);
  });
});
