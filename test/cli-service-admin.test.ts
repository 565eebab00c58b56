/**
 * One service in the running daemon, through the real binary:
 * `autoloop service stop|start|restart <name>` (token-guarded
 * `POST /services/:name/<verb>`), and `autoloop logs --service <name>`
 * reading its rotated files, with `--follow`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ServicesView } from '../src/cli/commands/services.ts';
import { groupAlive, signalGroup } from '../src/supervisor/process-group.ts';
import { autoloop, killDaemon, spawnAutoloop, waitFor } from './support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'autoloop-cli-service-'));
const TOKEN = 'service-admin-token-0123456789';
const pgids = new Set<number>();
after(() => {
  const leaked = killDaemon(dir);
  for (const pgid of pgids) if (groupAlive(pgid)) signalGroup(pgid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  assert.equal(leaked, null, 'the daemon was stopped by the test');
});

const config = join(dir, 'autoloop.yaml');
const env = { AUTOLOOP_TOKEN: TOKEN };

async function pidOf(name: string): Promise<number | null> {
  const json = await autoloop(['services', '--json', '--config', config], { cwd: dir, env });
  const view = JSON.parse(json.stdout) as ServicesView;
  const row = view.source === 'daemon' ? view.instances.find((i) => i.service === name) : undefined;
  if (row?.pid) pgids.add(row.pid);
  return row?.pid ?? null;
}

describe('autoloop service start|stop|restart and logs --service', { timeout: 180_000 }, () => {
  it('stops, starts and restarts one service in the daemon; logs --service spans its rotated files', async () => {
    // Each line ~40 bytes, 25 a second: the 1K file rotates about every second.
    const ticker = `let n = 0; setInterval(() => console.log('tick ' + process.pid + ' ' + (n++) + ' ' + 'x'.repeat(20)), 40)`;
    writeFileSync(
      config,
      `http: { host: 127.0.0.1, port: 0, token: "\${AUTOLOOP_TOKEN}" }
shutdown: { grace: 5s }
loops: {}
services:
  ticker:
    command: [${JSON.stringify(process.execPath)}, -e, ${JSON.stringify(ticker)}]
    killTimeout: 3s
    logs: { size: 1K, keep: 3 }
  other:
    command: [${JSON.stringify(process.execPath)}, -e, "setInterval(() => {}, 1000)"]
`,
    );
    const started = await autoloop(['start', '--config', config], { cwd: dir, env, timeoutMs: 60_000 });
    assert.equal(started.code, 0, started.stderr);
    const first = await pidOf('ticker');
    const other = await pidOf('other');
    assert.ok(first && other);

    const stop = await autoloop(['service', 'stop', 'ticker', '--config', config], {
      cwd: dir,
      env,
      timeoutMs: 60_000,
    });
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(stop.stdout.trim(), 'stopped: ticker stopped');
    assert.equal(groupAlive(first), false, "the stopped service's group is gone");
    assert.equal(await pidOf('other'), other, 'the other service is untouched');

    const start = await autoloop(['service', 'start', 'ticker', '--config', config], {
      cwd: dir,
      env,
      timeoutMs: 60_000,
    });
    assert.equal(start.code, 0, start.stderr);
    assert.match(start.stdout, /^started: ticker running \(pid \d+\)$/m);
    const second = await pidOf('ticker');
    assert.ok(second && second !== first);

    const restart = await autoloop(['service', 'restart', 'ticker', '--config', config], {
      cwd: dir,
      env,
      timeoutMs: 60_000,
    });
    assert.equal(restart.code, 0, restart.stderr);
    const third = await pidOf('ticker');
    assert.ok(third && third !== second, 'a new process');
    assert.match(restart.stdout, new RegExp(`^restarted: ticker running \\(pid ${third}\\)$`, 'm'));

    const unknown = await autoloop(['service', 'restart', 'nope', '--config', config], { cwd: dir, env });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown service "nope"; services in .*: ticker, other/);

    const url = (JSON.parse(readFileSync(join(dir, '.autoloop', 'autoloop.json'), 'utf8')) as { url: string }).url;
    const anonymous = await fetch(`${url}/services/ticker/stop`, { method: 'POST' });
    assert.equal(anonymous.status, 401, 'the route needs the token');
    const missing = await fetch(`${url}/services/nope/stop`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(missing.status, 404);

    // Let it rotate a few times, then read across the files.
    const logDir = join(dir, '.autoloop', 'services');
    const rotated = () => readdirSync(logDir).filter((f) => /^ticker\.log\.\d$/.test(f)).length;
    const deadline = Date.now() + 30_000;
    for (let count = rotated(); count < 2 && Date.now() < deadline; count = rotated()) {
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(rotated() >= 2, `rotated files: ${readdirSync(logDir).join(', ')}`);
    const current = readFileSync(join(logDir, 'ticker.log'), 'utf8').split('\n').filter(Boolean).length;
    const wanted = current + 20;
    const logs = await autoloop(['logs', '--service', 'ticker', '-n', String(wanted), '--config', config], {
      cwd: dir,
      env,
    });
    assert.equal(logs.code, 0, logs.stderr);
    const lines = logs.stdout.split('\n').filter(Boolean);
    assert.ok(lines.length >= wanted - 2, `${lines.length} lines, asked for ${wanted} (current file had ${current})`);
    for (const line of lines) assert.match(line, /^tick \d+ \d+ x{20}$/);
    // In order: within one process, the counter only goes up.
    const last = new Map<string, number>();
    for (const line of lines) {
      const [, pid, n] = line.split(' ');
      assert.ok((last.get(pid as string) ?? -1) < Number(n), `in order: ${line}`);
      last.set(pid as string, Number(n));
    }

    const follow = spawnAutoloop(['logs', '--service', 'ticker', '-f', '-n', '0', '--config', config], {
      cwd: dir,
      env,
    });
    await waitFor(follow, (out) => /tick \d+ \d+/.test(out.stdout), 20_000);
    follow.kill('SIGINT');
    await new Promise((r) => follow.once('close', r));

    const stopped = await autoloop(['stop', '--config', config], { cwd: dir, env, timeoutMs: 60_000 });
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(groupAlive(third), false);
  });
});
