/** Helpers to drive the real `autoloop` binary as a user would. */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/autoloop.js', import.meta.url));

/**
 * The bin runs src/ through tsx here (so a test follows src/ without a
 * rebuild) unless the environment says otherwise:
 * `AUTOLOOP_FROM_SOURCE=0 npm test` runs these tests on the compiled dist/.
 */
const FROM_SOURCE = process.env.AUTOLOOP_FROM_SOURCE ?? '1';

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `autoloop ...args` to completion. */
export function autoloop(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Finished> {
  const child = spawnAutoloop(args, options);
  return finished(child, options.timeoutMs ?? 30_000);
}

export function spawnAutoloop(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): ChildProcess & { output: { stdout: string; stderr: string } } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, AUTOLOOP_FROM_SOURCE: FROM_SOURCE, NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }) as ChildProcess & { output: { stdout: string; stderr: string } };
  child.output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (d) => {
    child.output.stdout += d;
  });
  child.stderr?.on('data', (d) => {
    child.output.stderr += d;
  });
  return child;
}

export function finished(
  child: ChildProcess & { output: { stdout: string; stderr: string } },
  timeoutMs: number,
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`autoloop did not exit within ${timeoutMs} ms; stderr: ${child.output.stderr}`));
    }, timeoutMs);
    // 'close' (not 'exit') comes after the last output has been read.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ...child.output });
    });
  });
}

/** Resolves when `predicate(output)` holds, polling the child's output. */
export async function waitFor(
  child: { output: { stdout: string; stderr: string } },
  predicate: (out: { stdout: string; stderr: string }) => boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate(child.output)) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting; stdout: ${child.output.stdout}\nstderr: ${child.output.stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const ACT = fileURLToPath(new URL('../fixtures/cli/act.mjs', import.meta.url));
export const SLOW = fileURLToPath(new URL('../fixtures/cli/slow.ts', import.meta.url));

/** The pidfile a background `start` writes for a config in `dir`. */
export function pidFileIn(dir: string): string {
  return join(dir, '.autoloop', 'autoloop.pid');
}

/** Whether `pid` is alive (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** SIGKILLs the daemon of the config in `dir`, if one is left: a test must not leak processes. */
export function killDaemon(dir: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFileIn(dir), 'utf8').trim());
  } catch {
    return null;
  }
  if (!(pid > 0) || !alive(pid)) return null;
  process.kill(pid, 'SIGKILL');
  return pid;
}

/** A pid that surely names no process: a child's, after it exited. */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid as number;
  await new Promise((resolve) => child.once('exit', resolve));
  return pid;
}
