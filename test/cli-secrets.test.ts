/**
 * The admin token never appears in what the CLI prints. Every command that
 * can print config or state runs with `AUTOLOOP_TOKEN` set to a value that
 * cannot occur by chance, plain and `--json`, with a daemon running where the
 * command asks one, and its stdout and stderr are searched for it (and for
 * its first half, in case something truncates it).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ACT, autoloop, type Finished, killDaemon } from './support/cli.ts';

const TOKEN = `s3cret-${globalThis.crypto.randomUUID()}`;
const FRAGMENT = TOKEN.slice(0, 20);

let dir: string;
let config: string;
const seen: Array<{ args: string[]; result: Finished }> = [];

async function cli(args: string[], options: { withConfig?: boolean } = {}): Promise<Finished> {
  const full = options.withConfig === false ? args : [...args, '--config', config];
  const result = await autoloop(full, { cwd: dir, env: { AUTOLOOP_TOKEN: TOKEN }, timeoutMs: 60_000 });
  seen.push({ args: full, result });
  return result;
}

function assertNoToken(args: string[], result: Finished): void {
  const text = `${result.stdout}\n${result.stderr}`;
  assert.ok(!text.includes(FRAGMENT), `autoloop ${args.join(' ')} printed the token:\n${text.slice(0, 2000)}`);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'autoloop-secrets-'));
  config = join(dir, 'autoloop.yaml');
  writeFileSync(
    config,
    `store: sqlite://./.autoloop/state.db
http: { host: 127.0.0.1, port: 0, token: "\${AUTOLOOP_TOKEN}" }
shutdown: { grace: 5s }
loops:
  jobs:
    trigger: { interval: 1s }
    items: [ok, fail]
    act: { command: "node ${ACT}", timeout: 5s }
`,
  );
});

after(() => {
  const leaked = killDaemon(dir);
  rmSync(dir, { recursive: true, force: true });
  assert.equal(leaked, null, 'the daemon was stopped by the test');
});

describe('the admin token in CLI output', { concurrency: 1 }, () => {
  it('validate, plain, --json and -c: the token is reported as set, never shown', async () => {
    const plain = await cli(['validate', config], { withConfig: false });
    assert.equal(plain.code, 0, plain.stderr);
    const json = await cli(['validate', '--json', config], { withConfig: false });
    assert.equal(json.code, 0, json.stderr);
    assert.equal(JSON.parse(json.stdout).http.tokenSet, true);
    assert.equal(JSON.parse(json.stdout).http.adminToken, 'config', 'where the token comes from, not the token');
    assert.equal(JSON.parse(json.stdout).http.token, undefined);
    const short = await cli(['validate', '-c', config, '--json'], { withConfig: false });
    assert.equal(short.code, 0, short.stderr);
    const both = await cli(['validate', config, '-c', join(dir, 'other.yaml')], { withConfig: false });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /got two configs/);
  });

  it('without a daemon: plan, run, cycles, tasks, status, health, alerts export, init', async () => {
    await cli(['plan', 'jobs']);
    await cli(['plan', 'jobs', '--json']);
    await cli(['run', 'jobs']);
    await cli(['run', 'jobs', '--json']);
    await cli(['cycles', 'jobs']);
    await cli(['cycles', 'jobs', '--json']);
    await cli(['tasks']);
    await cli(['tasks', '--json']);
    await cli(['status']);
    await cli(['status', '--json']);
    await cli(['health']);
    await cli(['health', '--json']);
    await cli(['alerts', 'export']);
    mkdirSync(join(dir, 'fresh'));
    await cli(['init', join(dir, 'fresh', 'autoloop.yaml')], { withConfig: false });
    await cli(['validate', '--json', join(dir, 'fresh', 'autoloop.yaml')], { withConfig: false });
  });

  it('with a daemon: start, status, health, tasks, logs, pause, resume, stop', async () => {
    const started = await cli(['start', '--port', '0']);
    assert.equal(started.code, 0, started.stderr + started.stdout);
    await cli(['status']);
    await cli(['status', '--json']);
    await cli(['health']);
    await cli(['health', '--json']);
    await cli(['tasks']);
    await cli(['tasks', '--json']);
    assert.equal((await cli(['pause', 'jobs'])).code, 0);
    assert.equal((await cli(['resume', 'jobs'])).code, 0);
    await cli(['logs', '--tail', '200']);
    const stopped = await cli(['stop']);
    assert.equal(stopped.code, 0, stopped.stderr);
    // What the daemon wrote for the operator to read later.
    for (const file of ['autoloop.log', 'autoloop.out']) {
      const text = readFileSync(join(dir, '.autoloop', file), 'utf8');
      assert.ok(!text.includes(FRAGMENT), `${file} contains the token`);
    }
  });

  it('no command printed the token', () => {
    assert.ok(seen.length >= 30, `${seen.length} commands ran`);
    for (const { args, result } of seen) assertNoToken(args, result);
  });
});
