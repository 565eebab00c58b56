import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CommandError, TerminalError, TimeoutError } from '../core/errors.ts';
import type { Clock, TimerHandle } from '../time/clock.ts';
import { systemClock } from '../time/system-clock.ts';
import { runCommand } from './command.ts';

/** The system clock, counting timers still pending, so a test can check none leaked. */
function trackingClock(): Clock & { pending(): number } {
  let pending = 0;
  return {
    now: () => systemClock.now(),
    monotonic: () => systemClock.monotonic(),
    sleep: (ms, signal) => systemClock.sleep(ms, signal),
    setTimer(ms: number, fn: () => void): TimerHandle {
      pending++;
      let live = true;
      const done = () => {
        if (live) pending--;
        live = false;
      };
      const handle = systemClock.setTimer(ms, () => {
        done();
        fn();
      });
      return {
        cancel() {
          done();
          handle.cancel();
        },
      };
    },
    pending: () => pending,
  };
}

/** True while `pid` is a live process (a zombie waiting to be reaped counts as gone). */
async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

/**
 * Whether `pid` is gone within `ms`: a killed process closes its pipes (which
 * settles the command) a moment before the kernel marks it a zombie, so the
 * check polls briefly instead of racing that moment.
 */
async function goneWithin(pid: number, ms = 2_000): Promise<boolean> {
  const until = systemClock.monotonic() + ms;
  while (await isAlive(pid)) {
    if (systemClock.monotonic() > until) return false;
    await systemClock.sleep(10);
  }
  return true;
}

/** Waits for the command to write its background child's pid. Polls: the file is written by a real process. */
async function readPid(file: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text.trim() !== '') return Number(text.trim());
    await systemClock.sleep(20);
  }
  throw new Error(`no pid in ${file}`);
}

describe('runCommand', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'autoloop-command-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips JSON through stdin and stdout', async () => {
    const clock = trackingClock();
    const input = { key: 'BTC/USD', payload: { n: [1, 2, 3], s: 'é' } };
    assert.deepEqual(await runCommand({ command: 'cat', input, timeoutMs: 5_000, clock }), input);
    assert.equal(clock.pending(), 0);
  });

  it('resolves null for empty output', async () => {
    assert.equal(await runCommand({ command: 'true', timeoutMs: 5_000, clock: systemClock }), null);
  });

  it('reads the last line as the result when the command logs first', async () => {
    const command = `echo starting; echo 'working on it'; echo '{"ok":true}'; echo`;
    assert.deepEqual(await runCommand({ command, timeoutMs: 5_000, clock: systemClock }), { ok: true });
  });

  it('fails with a clear message when the output is not JSON', async () => {
    await assert.rejects(runCommand({ command: 'echo hello world', timeoutMs: 5_000, clock: systemClock }), (error) => {
      assert.ok(error instanceof CommandError);
      assert.match(error.message, /^`echo hello world` printed output that is not JSON: hello world/);
      return true;
    });
  });

  it('reports a non-zero exit with the stderr tail', async () => {
    const command = 'echo "first line" >&2; echo "database unreachable" >&2; exit 1';
    await assert.rejects(runCommand({ command, timeoutMs: 5_000, clock: systemClock }), (error) => {
      assert.ok(error instanceof CommandError);
      assert.match(error.message, /exited with code 1$/);
      assert.equal(error.details.exitCode, 1);
      assert.equal(error.details.stderrTail, 'first line\ndatabase unreachable\n');
      return true;
    });
  });

  it('keeps only the last 4 KB of stderr', async () => {
    const command = `head -c 10000 /dev/zero | tr '\\0' a >&2; echo END >&2; exit 1`;
    await assert.rejects(runCommand({ command, timeoutMs: 5_000, clock: systemClock }), (error) => {
      assert.ok(error instanceof CommandError);
      assert.ok(error.details.stderrTail.length <= 4096);
      assert.ok(error.details.stderrTail.endsWith('aaaaEND\n'));
      return true;
    });
  });

  it('turns exit code 3 into a TerminalError carrying the command error', async () => {
    const command = 'echo "no such symbol: XYZ" >&2; exit 3';
    await assert.rejects(runCommand({ command, timeoutMs: 5_000, clock: systemClock }), (error) => {
      assert.ok(error instanceof TerminalError);
      assert.match(error.message, /exited with code 3 \(do not retry\): no such symbol: XYZ$/);
      assert.ok(error.cause instanceof CommandError);
      assert.equal(error.cause.details.exitCode, 3);
      assert.equal(error.cause.details.stderrTail, 'no such symbol: XYZ\n');
      return true;
    });
  });

  it('names the signal that killed the command', async () => {
    await assert.rejects(runCommand({ command: 'kill -9 $$', timeoutMs: 5_000, clock: systemClock }), (error) => {
      assert.ok(error instanceof CommandError);
      assert.match(error.message, /killed by signal SIGKILL/);
      assert.equal(error.details.signal, 'SIGKILL');
      return true;
    });
  });

  it('does not fail when the command ignores a large input', async () => {
    const input = 'x'.repeat(1024 * 1024);
    assert.equal(await runCommand({ command: 'exit 0', input, timeoutMs: 5_000, clock: systemClock }), null);
  });

  it('times out, killing the whole process group', async () => {
    const pidFile = join(dir, 'timeout.pid');
    const clock = trackingClock();
    const command = `sleep 30 & echo $! > ${pidFile}; sleep 30`;
    const started = systemClock.monotonic();
    await assert.rejects(runCommand({ command, timeoutMs: 300, clock, what: 'act BTC/USD' }), (error) => {
      assert.ok(error instanceof TimeoutError);
      assert.equal(error.timeoutMs, 300);
      assert.equal(error.message, 'act BTC/USD: timed out after 300 ms');
      return true;
    });
    assert.ok(systemClock.monotonic() - started < 2_000, 'SIGTERM sufficed; no wait for the kill grace');
    assert.ok(await goneWithin(await readPid(pidFile)), 'the background grandchild was killed too');
    assert.equal(clock.pending(), 0);
  });

  it('sends SIGKILL after the grace period to a group that ignores SIGTERM', async () => {
    const clock = trackingClock();
    const command = `trap '' TERM; sleep 30`;
    await assert.rejects(runCommand({ command, timeoutMs: 100, killGraceMs: 200, clock }), TimeoutError);
    assert.equal(clock.pending(), 0);
  });

  it('kills the process group when the signal aborts, rejecting with its reason', async () => {
    const pidFile = join(dir, 'abort.pid');
    const clock = trackingClock();
    const controller = new AbortController();
    const command = `sleep 30 & echo $! > ${pidFile}; sleep 30`;
    const run = runCommand({ command, timeoutMs: 30_000, clock, signal: controller.signal });
    const pid = await readPid(pidFile);
    assert.equal(await isAlive(pid), true);
    const reason = new Error('shutting down');
    controller.abort(reason);
    await assert.rejects(run, (error) => error === reason);
    assert.ok(await goneWithin(pid), 'the background grandchild was killed too');
    assert.equal(clock.pending(), 0);
  });

  it('rejects at once when the signal has already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('too late'));
    await assert.rejects(
      runCommand({ command: 'echo 1', timeoutMs: 5_000, clock: systemClock, signal: controller.signal }),
      /too late/,
    );
  });

  it('stops a command that prints more than the output cap', async () => {
    const clock = trackingClock();
    await assert.rejects(runCommand({ command: 'yes', timeoutMs: 5_000, clock, maxOutputBytes: 10_000 }), (error) => {
      assert.ok(error instanceof CommandError);
      assert.match(error.message, /printed more than 10000 bytes on stdout/);
      return true;
    });
    assert.equal(clock.pending(), 0);
  });

  it('runs in the given directory with the given environment', async () => {
    const command = 'printf \'{"dir":"%s","v":"%s"}\' "$(pwd)" "$AUTOLOOP_TEST_VAR"';
    const result = await runCommand({
      command,
      cwd: dir,
      env: { AUTOLOOP_TEST_VAR: 'hello', PATH: process.env.PATH ?? '/usr/bin:/bin' },
      timeoutMs: 5_000,
      clock: systemClock,
    });
    assert.deepEqual(result, { dir, v: 'hello' });
  });

  it('reports a command that cannot be started', async () => {
    await assert.rejects(
      runCommand({ command: 'true', cwd: join(dir, 'missing'), timeoutMs: 5_000, clock: systemClock }),
      (error) => error instanceof CommandError && /could not be started/.test(error.message),
    );
  });
});
