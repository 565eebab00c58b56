/**
 * Finding what runs: instances started in the foreground (as `npm start`,
 * systemd or a container run them) are found by `status`, `health`,
 * `pause`, `resume` and `stop` through their runtime files; several are
 * listed and need `--instance` where one must be picked; stale files are
 * removed; admin works from the same user with no token in the shell; read
 * commands take `--store` alone. Real processes, real SQLite files, a real
 * redis-server, real HTTP on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ACT, alive, autoloop, deadPid, finished, spawnAutoloop, waitFor } from './support/cli.ts';
import { startOwnRedis, type TestRedis } from './support/redis-server.ts';

type Child = ReturnType<typeof spawnAutoloop>;

let root: string;
const children: Child[] = [];

before(() => {
  root = mkdtempSync(join(tmpdir(), 'autoloop-instances-'));
});
after(() => {
  const leaked = children.filter((c) => c.pid !== undefined && alive(c.pid));
  for (const c of leaked) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
  assert.deepEqual(
    leaked.map((c) => c.pid),
    [],
    'every instance was stopped by its test',
  );
});

const YAML = `http: { host: 127.0.0.1, port: 0 }
shutdown: { grace: 5s }
loops:
  ticker:
    trigger: { interval: 1s }
    items: [ok]
    act: { command: "node ${ACT}" }
`;

function project(name: string): { dir: string; config: string; instances: string } {
  const dir = join(root, name);
  mkdirSync(dir);
  const config = join(dir, 'autoloop.yaml');
  writeFileSync(config, YAML);
  return { dir, config, instances: join(dir, '.autoloop', 'instances') };
}

/** `start --foreground`, as `npm start` runs it; resolves once it serves. */
async function foreground(dir: string, env: NodeJS.ProcessEnv = {}, args: string[] = []): Promise<Child> {
  const child = spawnAutoloop(['start', '--foreground', ...args], {
    cwd: dir,
    env: { AUTOLOOP_TOKEN: '', ...env },
  });
  children.push(child);
  await waitFor(child, (o) => /loop\(s\) running/.test(o.stderr), 60_000);
  return child;
}

interface RuntimeFile {
  pid: number;
  url: string;
  instance: string;
  token: string;
  pidFile: string | null;
}

function runtimeFiles(instances: string): RuntimeFile[] {
  return readdirSync(instances).map((n) => JSON.parse(readFileSync(join(instances, n), 'utf8')) as RuntimeFile);
}

describe('instances started in the foreground', () => {
  it('one instance: its runtime file (0600), status, health, pause and resume with no token anywhere, stop', async () => {
    const { dir, config, instances } = project('one');
    const child = await foreground(dir);
    const [file] = runtimeFiles(instances);
    assert.ok(file, 'a runtime file');
    assert.equal(statSync(instances).mode & 0o777, 0o700);
    assert.equal(statSync(join(instances, `${file.pid}.json`)).mode & 0o777, 0o600);
    assert.ok(file.token.length >= 16, 'a loopback instance without a configured token makes its own');
    assert.match(file.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      autoloop([...args, '-c', config], { cwd: dir, env: { AUTOLOOP_TOKEN: '', ...env } });

    const json = await cli(['status', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const view = JSON.parse(json.stdout);
    assert.equal(view.source, 'daemon', view.note);
    assert.equal(view.pid, file.pid);
    assert.deepEqual(
      view.local.map((l: { pid: number; background: boolean }) => [l.pid, l.background]),
      [[file.pid, false]],
    );
    assert.match(view.startedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, '--json keeps exact times');

    const health = await cli(['health']);
    assert.equal(health.code, 0, health.stdout + health.stderr);
    assert.ok(health.stdout.includes(`${file.url}/health`), 'health asks the instance, not port 8080');

    const paused = await cli(['pause', 'ticker']);
    assert.equal(paused.code, 0, paused.stderr);
    assert.match(paused.stdout, new RegExp(`paused ticker \\(pid ${file.pid}\\)`));
    const loops = async () =>
      ((await (await fetch(`${file.url}/status`)).json()) as { loops: Array<{ paused: boolean }> }).loops;
    assert.equal((await loops())[0]?.paused, true);
    const resumed = await cli(['resume', 'ticker']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal((await loops())[0]?.paused, false);

    const text = await cli(['status']);
    assert.match(text.stdout, new RegExp(`running: pid ${file.pid}, up \\d+s, ${file.url}`));
    assert.match(text.stdout, /ticker +every 1s/);
    assert.match(text.stdout, /\d+s ago|now/);
    assert.doesNotMatch(text.stdout, /\d{4}-\d\d-\d\dT\d\d:/, 'no ISO times on screen');

    for (const r of [json, health, paused, resumed, text]) {
      assert.ok(!(r.stdout + r.stderr).includes(file.token), 'the token is never printed');
    }

    // Listening before the stop: the child's exit comes while `stop` waits for it.
    const exited = finished(child, 60_000);
    const stop = await cli(['stop']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, new RegExp(`autoloop stopped \\(pid ${file.pid}, SIGTERM`));
    const exit = await exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.match(exit.stdout, /"adminToken":"local"/, 'the log says where the token came from');
    assert.ok(!(exit.stdout + exit.stderr).includes(file.token), "the instance's own log never shows it");
    assert.equal(existsSync(instances), false, 'the runtime file is removed on exit, and its empty directory');
    const after = await cli(['status', '--json']);
    assert.equal(after.code, 1);
    assert.equal(JSON.parse(after.stdout).running, false);
  });

  it('several instances: listed by status, health needs --instance, stop stops all; a stale file is removed; $AUTOLOOP_TOKEN not named in the config is the admin token', async () => {
    const { dir, config, instances } = project('two');
    const token = 'env-only-admin-token-0123456789';
    const first = await foreground(dir);
    const second = await foreground(dir, { AUTOLOOP_TOKEN: token });
    const gone = await deadPid();
    const stale = join(instances, `${gone}.json`);
    writeFileSync(stale, JSON.stringify({ ...runtimeFiles(instances)[0], pid: gone }));
    const cli = (args: string[]) => autoloop([...args, '-c', config], { cwd: dir, env: { AUTOLOOP_TOKEN: '' } });

    const json = await cli(['status', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const pids = (JSON.parse(json.stdout).local as Array<{ pid: number }>).map((l) => l.pid).sort();
    assert.equal(pids.length, 2, json.stdout);
    assert.equal(existsSync(stale), false, 'the stale runtime file is removed');
    const text = await cli(['status']);
    assert.match(text.stdout, /instances on this machine: 2/);

    const health = await cli(['health']);
    assert.equal(health.code, 2);
    assert.match(
      health.stderr,
      /health: 2 instances of this config run \(pid \d+ at http.*\); pick one with --instance <pid>/,
    );
    const picked = await cli(['health', '--instance', String(pids[1])]);
    assert.equal(picked.code, 0, picked.stdout + picked.stderr);
    const unknown = await cli(['health', '--instance', '1']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--instance: no running instance matches "1"/);

    const withEnv = runtimeFiles(instances).find((f) => f.token === token);
    assert.ok(withEnv, 'the instance started with $AUTOLOOP_TOKEN accepts it');
    const pause = (auth?: string) =>
      fetch(`${withEnv.url}/loops/ticker/pause`, {
        method: 'POST',
        headers: auth ? { authorization: `Bearer ${auth}` } : {},
      });
    assert.equal((await pause()).status, 401, 'admin routes are on, and need the token');
    assert.equal((await pause(token)).status, 200, 'not 403 "admin endpoints are disabled"');

    const paused = await cli(['pause', 'ticker']);
    assert.equal(paused.code, 0, paused.stderr);
    assert.equal(paused.stdout.trim().split('\n').length, 2, 'paused in both instances');

    const exits = [first, second].map((child) => finished(child, 60_000));
    const stop = await cli(['stop']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((stop.stdout.match(/autoloop stopped \(pid \d+, SIGTERM/g) ?? []).length, 2);
    for (const exit of await Promise.all(exits)) assert.equal(exit.code, 0, exit.stderr);
    assert.equal(existsSync(instances), false, 'the last one out removes the directory');
    for (const r of [json, text, health, picked, paused, stop]) assert.ok(!(r.stdout + r.stderr).includes(token));
  });
});

describe('read commands with --store alone', () => {
  let redis: TestRedis;
  before(async () => {
    // Its own server: the status below counts the live instances in it.
    redis = await startOwnRedis();
  });
  after(() => redis.stop());

  for (const kind of ['sqlite', 'redis'] as const) {
    it(`${kind}: status, cycles and tasks from a directory without a config`, async () => {
      const { dir } = project(`store-${kind}`);
      const store = kind === 'sqlite' ? `sqlite://${join(dir, '.autoloop', 'state.db')}` : redis.url;
      const child = await foreground(dir, {}, ['--store', store]);
      const elsewhere = mkdtempSync(join(root, 'elsewhere-'));
      const read = (args: string[]) => autoloop([...args, '--store', store], { cwd: elsewhere });
      // At least one finished cycle in the store.
      let cycles = await read(['cycles', 'ticker', '--json']);
      for (let i = 0; i < 100 && JSON.parse(cycles.stdout || '[]').length === 0; i++) {
        await new Promise((r) => setTimeout(r, 200));
        cycles = await read(['cycles', 'ticker', '--json']);
      }
      assert.equal(cycles.code, 0, cycles.stderr);
      const records = JSON.parse(cycles.stdout) as Array<{ startedAt: unknown; loop: string }>;
      assert.ok(records.length > 0);
      assert.equal(typeof records[0]?.startedAt, 'number', '--json keeps exact epoch ms');
      const table = await read(['cycles', 'ticker']);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /\d+s ago|now/);

      const status = await read(['status', '--json']);
      assert.equal(status.code, 0, status.stderr);
      const view = JSON.parse(status.stdout);
      assert.equal(view.source, 'store');
      assert.equal(view.instances.length, 1);
      assert.deepEqual(
        view.loops.map((l: { name: string }) => l.name),
        ['ticker'],
      );
      const tasks = await read(['tasks']);
      assert.equal(tasks.code, 0, tasks.stderr);
      assert.match(tasks.stdout, /task queue \(from the store\)/);

      const bad = await autoloop(['cycles', 'ticker', '--store', 'postgres://x'], { cwd: elsewhere });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /store: expected a store URL/);

      const exited = finished(child, 60_000);
      const stop = await autoloop(['stop'], { cwd: dir });
      assert.equal(stop.code, 0, stop.stderr);
      assert.equal((await exited).code, 0);
    });
  }
});
