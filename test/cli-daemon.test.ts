/**
 * The daemon's life as a user drives it: start (detached, --port 0), a
 * second start refused, status, health, tasks, logs, run, pause and resume
 * with the admin token, stop; a stale pidfile replaced; stop escalating to
 * SIGKILL; a start that fails showing the log. Every config lives in its
 * own temp dir (its .autoloop/ holds the pidfile, state file, log and store).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ACT,
  alive,
  autoloop,
  deadPid,
  finished,
  killDaemon,
  pidFileIn,
  SLOW,
  spawnAutoloop,
  waitFor,
} from './support/cli.ts';

const TOKEN = 'cli-test-admin-token';
/** `start` itself waits up to 30 s for the daemon's /health/live; on a loaded machine the CLI's own start-up comes on top. */
const START_MS = 90_000;
let root: string;
const dirs: string[] = [];

before(() => {
  root = mkdtempSync(join(tmpdir(), 'autoloop-daemon-'));
});
after(() => {
  const leaked = dirs.map(killDaemon).filter((pid) => pid !== null);
  rmSync(root, { recursive: true, force: true });
  assert.deepEqual(leaked, [], 'every daemon was stopped by its test');
});

/** A config in a fresh dir; returns the dir and the config path. */
function project(name: string, yaml: string): { dir: string; config: string } {
  const dir = join(root, name);
  mkdirSync(dir);
  dirs.push(dir);
  const config = join(dir, 'autoloop.yaml');
  writeFileSync(config, yaml);
  return { dir, config };
}

// Port 0: `health` without a daemon would otherwise ask whatever else listens on the config's port.
const BASIC = `http: { host: 127.0.0.1, port: 0, token: "\${AUTOLOOP_TOKEN:-}" }
shutdown: { grace: 5s }
loops:
  ticker:
    trigger: { interval: 1s }
    items: [ok]
    act: { command: "node ${ACT}" }
  batch:
    trigger: { manual: true }
    items: [ok, fail]
    act: { command: "node ${ACT}", timeout: 5s }
`;

/** A loop whose 2 s item is in flight most of the time, so a shutdown has something to drain. */
function shutdownProject(name: string): { dir: string; config: string } {
  const made = project(
    name,
    `http: { host: 127.0.0.1, port: 0, token: "\${AUTOLOOP_TOKEN:-}" }
shutdown: { grace: 20s }
loops:
  long:
    trigger: { interval: 1s }
    items: [2000]
    act: ./slow.mts#act
    policies: { timeout: 30s }
`,
  );
  writeFileSync(join(made.dir, 'slow.mts'), readFileSync(SLOW, 'utf8'));
  return made;
}

async function waitForInFlight(url: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const status = (await (await fetch(`${url}/status`)).json()) as { loops: Array<{ inFlight?: number }> };
    if ((status.loops[0]?.inFlight ?? 0) > 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail('no item went in flight within 20 s');
}

function postShutdown(url: string): Promise<Response> {
  return fetch(`${url}/shutdown`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
}

/** The lines a SIGTERM drain logs, with the item in flight finished (drained) rather than aborted. */
function assertDrainLogged(log: string): void {
  assert.match(log, /"reason":"POST \/shutdown".*"msg":"shutting down: draining in-flight work"/);
  assert.match(log, /"drained":true.*"msg":"stopped"/);
}

describe('autoloop daemon', { concurrency: true }, () => {
  describe('driven through the CLI', { concurrency: 1 }, () => {
    const { dir, config } = project('basic', BASIC);
    const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      autoloop([...args, '--config', config], {
        cwd: dir,
        env: { AUTOLOOP_TOKEN: TOKEN, ...env },
        timeoutMs: args[0] === 'start' || args[0] === 'restart' ? START_MS : 30_000,
      });
    let pid = 0;
    let url = '';

    it('start: daemonises on --port 0, prints pid, log and health URL; the daemon writes pidfile and autoloop.json', async () => {
      const r = await cli(['start', '--port', '0']);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      pid = Number(/autoloop started \(pid (\d+)\)/.exec(r.stdout)?.[1]);
      assert.ok(alive(pid), 'the daemon outlives the start command');
      assert.match(r.stdout, new RegExp(`log +${join(dir, '.autoloop', 'autoloop.log')}`));
      url = /health +(http:\/\/127\.0\.0\.1:\d+)\/health/.exec(r.stdout)?.[1] as string;
      assert.ok(url && !url.endsWith(':0'), `the real port, not the config's: ${url}`);
      assert.equal(readFileSync(pidFileIn(dir), 'utf8').trim(), String(pid));
      const state = JSON.parse(readFileSync(join(dir, '.autoloop', 'autoloop.json'), 'utf8'));
      assert.equal(state.pid, pid);
      assert.equal(state.url, url);
      assert.ok(Date.parse(state.startedAt) > 0);
      assert.equal((await fetch(`${url}/health/live`)).status, 200);
    });

    it('start twice is refused: exit 1, "already running (pid N)"', async () => {
      const r = await cli(['start', '--port', '0']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`already running \\(pid ${pid}\\)`));
    });

    it('status --json: running, pid, uptime and url from the daemon, with each loop', async () => {
      const r = await cli(['status', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const status = JSON.parse(r.stdout);
      assert.equal(status.source, 'daemon', status.note);
      assert.equal(status.running, true);
      assert.equal(status.pid, pid);
      assert.equal(status.url, url);
      assert.equal(typeof status.uptimeS, 'number');
      assert.deepEqual(
        status.loops.map((l: { name: string }) => l.name),
        ['ticker', 'batch'],
      );
      assert.equal(status.instances[0].pid, pid);
      const text = await cli(['status']);
      assert.match(text.stdout, new RegExp(`running: pid ${pid}, up \\d+s, ${url}`));
      assert.match(text.stdout, /ticker +every 1s/);
    });

    it('health: exit 0 and one line per component; --json is the report', async () => {
      const r = await cli(['health']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^healthy \(/);
      assert.match(r.stdout, /ok +loop:ticker/);
      assert.match(r.stdout, /ok +store/);
      const json = JSON.parse((await cli(['health', '--json'])).stdout);
      assert.equal(json.healthy, true);
      assert.ok(json.components['loop:batch']);
    });

    it("tasks: the daemon's queue by priority and by loop", async () => {
      const r = await cli(['tasks']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /task queue \(from the daemon\): \d+ item\(s\)/);
      assert.match(r.stdout, /by priority\npriority +queued\ncritical +\d+\nhigh +\d+\nmedium +\d+\nlow +\d+/);
      const json = JSON.parse((await cli(['tasks', '--json'])).stdout);
      assert.equal(json.source, 'daemon', json.note);
      assert.equal(typeof json.total, 'number');
      assert.ok(Array.isArray(json.byLoop));
    });

    it('logs --tail 5: the last lines, raw JSON when not a terminal; --pretty formats them; --follow until Ctrl-C', async () => {
      // The start line and one line per cycle: wait until the log holds more than 5 (a busy machine is slow to get there).
      const logFile = join(dir, '.autoloop', 'autoloop.log');
      const lineCount = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').trimEnd().split('\n').length : 0);
      for (let i = 0; i < 200 && lineCount() <= 5; i++) await new Promise((r) => setTimeout(r, 50));
      const r = await cli(['logs', '--tail', '5']);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 5, r.stdout);
      const json = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      assert.ok(json.length > 0 && json.every((l) => typeof l.msg === 'string'));
      const pretty = await cli(['logs', '--tail', '2', '--pretty']);
      assert.match(pretty.stdout, /^\d{4}-\d\d-\d\dT[\d:.]+Z (INFO|DEBUG|WARN) +\S/m);
      assert.match(readFileSync(join(dir, '.autoloop', 'autoloop.log'), 'utf8'), /"msg":"autoloop started"/);
      const follow = spawnAutoloop(['logs', '--tail', '0', '--follow', '--config', config], { cwd: dir });
      await waitFor(follow, (o) => o.stdout.includes('"msg":"cycle finished"'), 10_000);
      follow.kill('SIGINT');
      assert.equal((await finished(follow, 5_000)).code, 0, 'Ctrl-C ends --follow cleanly');
    });

    it('run <loop>: one cycle in this process next to the daemon; items printed as they finish', async () => {
      const r = await cli(['run', 'batch']);
      assert.equal(r.code, 0, 'a partial cycle exits 0');
      assert.match(r.stdout, /ok {3}ok/);
      assert.match(r.stdout, /FAIL fail/);
      assert.match(r.stdout, /partial \(1 failed\)/);
    });

    it('pause and resume <loop>: the token from the runtime file; without it, no token exits 2, a wrong one exits 1', async () => {
      // The same user needs no token in the shell: the runtime file holds the daemon's.
      const paused = await cli(['pause', 'ticker'], { AUTOLOOP_TOKEN: '' });
      assert.equal(paused.code, 0, paused.stderr);
      assert.match(paused.stdout, new RegExp(`paused ticker \\(pid ${pid}\\)`));
      const ticker = async () => {
        const status = (await (await fetch(`${url}/status`)).json()) as {
          loops: Array<{ name: string; paused: boolean }>;
        };
        return status.loops.find((l) => l.name === 'ticker');
      };
      assert.equal((await ticker())?.paused, true);
      const resumed = await cli(['resume', 'ticker']);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.equal((await ticker())?.paused, false);

      // As another user would be: the runtime file without its token.
      const file = join(dir, '.autoloop', 'instances', `${pid}.json`);
      const original = readFileSync(file, 'utf8');
      writeFileSync(file, JSON.stringify({ ...JSON.parse(original), token: '' }));
      try {
        const none = await cli(['pause', 'ticker'], { AUTOLOOP_TOKEN: '' });
        assert.equal(none.code, 2);
        assert.match(none.stderr, /pause: no admin token: the instance's runtime file has none/);
        const wrong = await cli(['pause', 'ticker'], { AUTOLOOP_TOKEN: 'not-the-admin-token-at-all' });
        assert.equal(wrong.code, 1);
        assert.match(wrong.stderr, /HTTP 401/);
        for (const r of [none, wrong]) assert.doesNotMatch(r.stdout + r.stderr, new RegExp(TOKEN));
      } finally {
        writeFileSync(file, original);
      }
      for (const r of [paused, resumed]) assert.doesNotMatch(r.stdout + r.stderr, new RegExp(TOKEN));
    });

    it('stop: SIGTERM, the daemon drains and removes its files; then stop, health and status say it is not running', async () => {
      const r = await cli(['stop']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`autoloop stopped \\(pid ${pid}, SIGTERM, took `));
      assert.equal(alive(pid), false);
      assert.equal(existsSync(pidFileIn(dir)), false);
      assert.equal(existsSync(join(dir, '.autoloop', 'autoloop.json')), false);
      const again = await cli(['stop']);
      assert.equal(again.code, 0);
      assert.match(again.stdout, /not running \(no pidfile at .*\); nothing to stop/);
      const health = await cli(['health']);
      assert.equal(health.code, 1);
      assert.match(health.stderr, /not running/);
      const pause = await cli(['pause', 'ticker']);
      assert.equal(pause.code, 1);
      assert.match(pause.stderr, /autoloop is not running \(no pidfile at /);
      const status = await cli(['status', '--json']);
      assert.equal(status.code, 1, 'nothing runs');
      assert.equal(JSON.parse(status.stdout).source, 'store');
    });

    it('a stale pidfile is replaced with a note; restart stops and starts again', async () => {
      const stale = await deadPid();
      mkdirSync(join(dir, '.autoloop'), { recursive: true });
      writeFileSync(pidFileIn(dir), `${stale}\n`);
      const r = await cli(['start', '--port', '0']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`replaced a stale pidfile \\(pid ${stale} is gone\\)`));
      const started = Number(/pid (\d+)/.exec(r.stdout)?.[1]);
      assert.equal(readFileSync(pidFileIn(dir), 'utf8').trim(), String(started));
      const restarted = await cli(['restart', '--port', '0']);
      assert.equal(restarted.code, 0, restarted.stderr);
      assert.match(restarted.stdout, new RegExp(`autoloop stopped \\(pid ${started}, SIGTERM`));
      const again = Number(/autoloop started \(pid (\d+)\)/.exec(restarted.stdout)?.[1]);
      assert.ok(again !== started && alive(again) && !alive(started), `restarted as pid ${again}`);
      assert.equal((await cli(['stop'])).code, 0);
    });
  });

  describe('the hard cases', { concurrency: true }, () => {
    it('stop --timeout: a daemon still draining when it runs out gets SIGKILL, and stop says so', async () => {
      const { dir, config } = project(
        'slow',
        `http: { host: 127.0.0.1, port: 0 }
shutdown: { grace: 60s }
loops:
  long:
    trigger: { interval: 1s }
    items: [30000]
    act: ./slow.mts#act
    policies: { timeout: 1m }
`,
      );
      // Module acts are relative to the config (the fixture's only import is a type, erased at run time).
      writeFileSync(join(dir, 'slow.mts'), readFileSync(SLOW, 'utf8'));
      const started = await autoloop(['start', '--config', config], { cwd: dir, timeoutMs: START_MS });
      assert.equal(started.code, 0, started.stderr + started.stdout);
      const pid = Number(/pid (\d+)/.exec(started.stdout)?.[1]);
      // Wait until the 30 s item is in flight, so SIGTERM starts a long drain.
      const deadline = Date.now() + 10_000;
      let inFlight = 0;
      while (inFlight === 0 && Date.now() < deadline) {
        const s = JSON.parse((await autoloop(['status', '--json', '--config', config], { cwd: dir })).stdout);
        inFlight = s.loops[0]?.inFlight ?? 0;
      }
      assert.ok(inFlight > 0, 'an item is in flight');
      const r = await autoloop(['stop', '--timeout', '1s', '--config', config], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        new RegExp(`autoloop killed \\(pid ${pid}, SIGKILL\\): it did not exit within 1s of SIGTERM`),
      );
      assert.equal(alive(pid), false);
      assert.equal(existsSync(pidFileIn(dir)), false, 'stop removes the files a killed daemon left');
    });

    it('POST /shutdown in the foreground drains as SIGTERM does: drain log lines, exit 0, no daemon files left', async () => {
      const { dir, config } = shutdownProject('shutdown-fg');
      const pidFile = pidFileIn(dir);
      const child = spawnAutoloop(['start', '--foreground', '--config', config, '--pid-file', pidFile], {
        cwd: dir,
        env: { AUTOLOOP_TOKEN: TOKEN },
      });
      try {
        await waitFor(child, (o) => /health (http:\/\/127\.0\.0\.1:\d+)\/health/.test(o.stderr), 30_000);
        const url = /health (http:\/\/127\.0\.0\.1:\d+)\/health/.exec(child.output.stderr)?.[1] as string;
        await waitForInFlight(url);
        assert.ok(existsSync(pidFile) && existsSync(join(dir, '.autoloop', 'autoloop.json')), 'daemon files written');
        const res = await postShutdown(url);
        assert.equal(res.status, 202);
        const r = await finished(child, 30_000);
        assert.equal(r.code, 0, `exit code ${r.code}; stderr: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /unsettled top-level await/);
        assertDrainLogged(r.stdout);
        assert.equal(existsSync(pidFile), false, 'pidfile removed');
        assert.equal(existsSync(join(dir, '.autoloop', 'autoloop.json')), false, 'state file removed');
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    });

    it('POST /shutdown to a background daemon: it drains, exits cleanly and leaves no files; status says not running', async () => {
      const { dir, config } = shutdownProject('shutdown-bg');
      const env = { AUTOLOOP_TOKEN: TOKEN };
      const started = await autoloop(['start', '--config', config], { cwd: dir, env, timeoutMs: START_MS });
      assert.equal(started.code, 0, started.stderr + started.stdout);
      const pid = Number(/autoloop started \(pid (\d+)\)/.exec(started.stdout)?.[1]);
      const url = /health +(http:\/\/127\.0\.0\.1:\d+)\/health/.exec(started.stdout)?.[1] as string;
      await waitForInFlight(url);
      assert.equal((await postShutdown(url)).status, 202);
      const deadline = Date.now() + 30_000;
      while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(alive(pid), false, 'the daemon exited');
      assert.equal(existsSync(pidFileIn(dir)), false, 'pidfile removed');
      assert.equal(existsSync(join(dir, '.autoloop', 'autoloop.json')), false, 'state file removed');
      // Its own stderr goes to autoloop.out: Node writes the exit-13 warning there.
      const out = readFileSync(join(dir, '.autoloop', 'autoloop.out'), 'utf8');
      assert.doesNotMatch(out, /unsettled top-level await|Error/);
      assertDrainLogged(readFileSync(join(dir, '.autoloop', 'autoloop.log'), 'utf8'));
      const status = await autoloop(['status', '--json', '--config', config], { cwd: dir, env });
      assert.equal(status.code, 1, 'nothing runs');
      assert.doesNotMatch(status.stdout + status.stderr, /stale/);
    });

    it('a daemon that cannot start: exit 1 with the last lines of its log', async () => {
      const busy = createServer();
      await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
      const port = (busy.address() as { port: number }).port;
      try {
        const { dir, config } = project('busy', BASIC);
        const r = await autoloop(['start', '--config', config, '--port', String(port)], {
          cwd: dir,
          timeoutMs: START_MS,
        });
        assert.equal(r.code, 1);
        assert.match(r.stderr, /failed to start: the daemon exited \(exit code 1\) before \/health\/live answered/);
        assert.match(r.stderr, /last lines of .*autoloop\.out:\n[\s\S]*address already in use/);
        assert.equal(existsSync(pidFileIn(dir)), false, 'a failed daemon removes its pidfile');
      } finally {
        busy.close();
      }
    });
  });
});
