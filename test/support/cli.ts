/** Helpers to drive the real `autoloop` binary as a user would. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/autoloop.js', import.meta.url));

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
    env: { ...process.env, NO_COLOR: '1', ...options.env },
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
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate(child.output)) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting; stdout: ${child.output.stdout}\nstderr: ${child.output.stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
