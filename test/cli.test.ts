import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { autoloop, finished, spawnAutoloop, waitFor } from './support/cli.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/cli/autoloop.yaml', import.meta.url));
const LONG = fileURLToPath(new URL('./fixtures/cli/long.yaml', import.meta.url));
let dir: string;
let storeUrl: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'autoloop-cli-'));
  storeUrl = `sqlite://${join(dir, 'state.db')}`;
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
  // Instances started on the fixture config keep their runtime files beside it; a SIGKILLed one leaves its file.
  rmSync(fileURLToPath(new URL('./fixtures/cli/.autoloop', import.meta.url)), { recursive: true, force: true });
});

const noStackTrace = (text: string) => assert.doesNotMatch(text, /^\s+at .+:\d+:\d+\)?$/m, `stack trace in: ${text}`);

describe('autoloop CLI', () => {
  it('--help lists the commands and exit codes; each command has its own help', async () => {
    const top = await autoloop(['--help']);
    assert.equal(top.code, 0);
    for (const word of ['start', 'run', 'validate', 'cycles', 'Exit codes']) assert.match(top.stdout, new RegExp(word));
    const run = await autoloop(['run', '--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /Usage: autoloop run \[options\] <loop>/);
  });

  it('validate: a valid file exits 0 and summarises its loops', async () => {
    const r = await autoloop(['validate', FIXTURE]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /valid, 3 loop\(s\)/);
    assert.match(r.stdout, /ticker\s+cron \* \* \* \* \* \* \(UTC\)/);
  });

  it('validate: an invalid file exits 2 naming file, path, expected and got, without a stack trace', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'loops:\n  x:\n    trigger: { cron: "every minute" }\n    act: { command: "true", timeout: 5 minutes }\n    colour: red\n',
    );
    const r = await autoloop(['validate', bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.yaml: loops\.x\.trigger\.cron: expected a cron expression.*got "every minute"/);
    assert.match(r.stderr, /bad\.yaml: loops\.x\.act\.timeout: expected a duration/);
    assert.match(r.stderr, /bad\.yaml: loops\.x: unknown key "colour"/);
    noStackTrace(r.stderr);
  });

  it('run: prints each item as it finishes; failed, hung and garbage commands are failed items with reasons', async () => {
    const r = await autoloop(['run', 'commands', '--config', FIXTURE, '--store', storeUrl]);
    assert.equal(r.code, 0, 'partial cycle exits 0');
    assert.match(r.stdout, /ok {3}ok/);
    assert.match(r.stdout, /FAIL fail .*exited with code 1/);
    assert.match(r.stdout, /stderr: .*boom: giving up/);
    assert.match(r.stdout, /FAIL garbage .*not JSON/);
    assert.match(r.stdout, /FAIL hang .*timed out after 1000 ms/);
    assert.match(r.stdout, /partial \(3 failed\)/);
  });

  it('run: exits 1 when the cycle failed, 0 when ok; an unknown loop exits 2 with the list', async () => {
    const ok = await autoloop(['run', 'allgood', '--config', FIXTURE, '--store', storeUrl]);
    assert.equal(ok.code, 0);
    const failing = join(dir, 'failing.yaml');
    writeFileSync(
      failing,
      `loops:\n  f:\n    trigger: { manual: true }\n    items: [fail]\n    act: { command: "node ${join(fileURLToPath(new URL('./fixtures/cli/', import.meta.url)), 'act.mjs')}" }\n`,
    );
    const bad = await autoloop(['run', 'f', '--config', failing, '--store', storeUrl]);
    assert.equal(bad.code, 1);
    const unknown = await autoloop(['run', 'nope', '--config', FIXTURE, '--store', storeUrl]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /run: unknown loop "nope"; loops in .*autoloop\.yaml: ticker, commands, allgood/);
  });

  it("plan: shows the next cycle's items without acting or writing", async () => {
    // The fixture's default store would be test/fixtures/cli/.autoloop/state.db.
    const store = fileURLToPath(new URL('./fixtures/cli/.autoloop/state.db', import.meta.url));
    const r = await autoloop(['plan', 'commands', '--config', FIXTURE, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout);
    assert.deepEqual(
      plan.items.map((i: { key: string }) => i.key),
      ['ok', 'fail', 'garbage', 'hang'],
    );
    const text = await autoloop(['plan', 'commands', '--config', FIXTURE]);
    assert.match(text.stdout, /next cycle of commands .*: 4 item\(s\)/);
    assert.equal(existsSync(store), false, 'a dry run opens no store');
  });

  it('cycles: lists records from the store, --json includes item results', async () => {
    const text = await autoloop(['cycles', 'commands', '--config', FIXTURE, '--store', storeUrl]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /partial \(3 failed\)/);
    const json = await autoloop([
      'cycles',
      'commands',
      '--config',
      FIXTURE,
      '--store',
      storeUrl,
      '--json',
      '--limit',
      '1',
    ]);
    const records = JSON.parse(json.stdout);
    assert.equal(records.length, 1);
    assert.equal(records[0].items.length, 4);
    const bad = await autoloop(['cycles', 'commands', '--config', FIXTURE, '--limit', 'ten']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--limit: expected a whole number >= 1, got "ten"/);
  });

  it('start --foreground: serves health on --port 0, and SIGTERM mid-cycle drains in-flight items and exits 0', async () => {
    const store = `sqlite://${join(dir, 'drain.db')}`;
    const child = spawnAutoloop(['start', '--foreground', '--config', FIXTURE, '--store', store, '--port', '0']);
    await waitFor(child, (o) => /health (http:\/\/127\.0\.0\.1:\d+)\/health/.test(o.stderr));
    const url = /health (http:\/\/127\.0\.0\.1:\d+)\/health/.exec(child.output.stderr)?.[1];
    const live = await fetch(`${url}/health/live`);
    assert.equal(live.status, 200);
    await waitFor(
      child,
      (o) => o.stdout.includes('"msg":"cycle started"') || o.stdout.includes('cycle finished'),
      5_000,
    ).catch(() => {});
    // A ticker cycle takes 1.5 s; wait until one is surely in flight.
    await new Promise((r) => setTimeout(r, 1200));
    const sentAt = Date.now();
    child.kill('SIGTERM');
    const r = await finished(child, 20_000);
    const took = Date.now() - sentAt;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(took < 10_000 + 2_000, `exited within the grace bound (took ${took} ms)`);
    assert.match(r.stdout, /shutting down: draining in-flight work/);
    assert.match(r.stdout, /"drained":true/);
    const reopened = SqliteStore.open(join(dir, 'drain.db'));
    const records = await reopened.cycles.list('ticker', { limit: 50 });
    await reopened.close();
    assert.ok(records.length >= 1);
    assert.ok(
      records.every((c) => c.outcome.kind !== 'running'),
      'no cycle left running after a graceful stop',
    );
    assert.equal(records[0]?.outcome.kind, 'ok');
  });

  it('SIGTERM with items longer than the grace period: aborts them at the bound, returns them to the queue, exits 0', async () => {
    const path = join(dir, 'long.db');
    const child = spawnAutoloop([
      'start',
      '--foreground',
      '--config',
      LONG,
      '--store',
      `sqlite://${path}`,
      '--port',
      '0',
    ]);
    await waitFor(child, (o) => o.stdout.includes('"msg":"autoloop started"'));
    await new Promise((r) => setTimeout(r, 1_500)); // the first cycle's two 30 s items are in flight
    const sentAt = Date.now();
    child.kill('SIGTERM');
    const r = await finished(child, 15_000);
    const took = Date.now() - sentAt;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(took < 1_000 + 2_000, `exited within grace (1 s) + 2 s, took ${took} ms`);
    assert.match(r.stdout, /"drained":false/);
    const store = SqliteStore.open(path);
    const cycle = (await store.cycles.list('long', { limit: 20 })).find((c) => c.outcome.kind !== 'skipped');
    const queued = await store.queue.list('long');
    await store.close();
    assert.equal(cycle?.outcome.kind, 'failed');
    assert.deepEqual(
      queued.map((q) => q.claim),
      [null, null],
      'both items are back in the queue, unclaimed, for the next start',
    );
  });

  it('a second signal during the drain exits at once', async () => {
    const child = spawnAutoloop(
      ['start', '--foreground', '--config', LONG, '--store', `sqlite://${join(dir, 'second.db')}`, '--port', '0'],
      { env: { GRACE: '60s' } },
    );
    await waitFor(child, (o) => o.stdout.includes('"msg":"autoloop started"'));
    await new Promise((r) => setTimeout(r, 1_500));
    child.kill('SIGTERM');
    await waitFor(child, (o) => o.stdout.includes('shutting down'));
    const sentAt = Date.now();
    child.kill('SIGTERM');
    const r = await finished(child, 10_000);
    assert.equal(r.code, 143);
    assert.ok(Date.now() - sentAt < 1_000, 'forced exit is immediate');
    assert.match(r.stdout, /second signal: exiting now/);
  });

  it('status lists the live instance from its heartbeat, and a graceful stop removes it', async () => {
    const store = `sqlite://${join(dir, 'status.db')}`;
    const child = spawnAutoloop(['start', '--foreground', '--config', FIXTURE, '--store', store, '--port', '0']);
    await waitFor(child, (o) => o.stdout.includes('"msg":"autoloop started"'));
    const running = await autoloop(['status', '--config', FIXTURE, '--store', store, '--json']);
    assert.equal(running.code, 0, running.stderr);
    const status = JSON.parse(running.stdout);
    assert.equal(status.instances.length, 1);
    assert.equal(status.instances[0].pid, child.pid);
    assert.deepEqual(
      status.loops.map((l: { name: string }) => l.name),
      ['ticker', 'commands', 'allgood'],
    );
    child.kill('SIGTERM');
    await finished(child, 20_000);
    const after = JSON.parse((await autoloop(['status', '--config', FIXTURE, '--store', store, '--json'])).stdout);
    assert.equal(after.instances.length, 0);
  });

  it('SIGKILL mid-cycle leaves a store the next start opens and reads', async () => {
    const store = `sqlite://${join(dir, 'killed.db')}`;
    const child = spawnAutoloop(['start', '--foreground', '--config', FIXTURE, '--store', store, '--port', '0']);
    await waitFor(child, (o) => o.stdout.includes('cycle finished'));
    await new Promise((r) => setTimeout(r, 700));
    child.kill('SIGKILL');
    await finished(child, 5_000);
    const listed = await autoloop(['cycles', 'ticker', '--config', FIXTURE, '--store', store, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const records = JSON.parse(listed.stdout);
    assert.ok(records.some((c: { outcome: { kind: string } }) => c.outcome.kind === 'ok'));
    const again = spawnAutoloop(['start', '--foreground', '--config', FIXTURE, '--store', store, '--port', '0']);
    await waitFor(again, (o) => o.stdout.includes('cycle finished'));
    again.kill('SIGTERM');
    const r = await finished(again, 20_000);
    assert.equal(r.code, 0, r.stderr);
  });
});
