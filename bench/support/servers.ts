/**
 * Server processes for bench/http-footprint.ts: spawn one, read its health
 * URL from the line it prints on stderr (`... health http://HOST:PORT/health ...`),
 * poll it until it answers 200, read its resident memory, and stop it
 * (SIGTERM, then SIGKILL).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { now } from '../report.ts';

export interface ServerProcess {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** performance.now() just before spawn(). */
  readonly spawnedAt: number;
  /** The base URL (`http://127.0.0.1:PORT`), once the process printed its health line. */
  readonly url: Promise<string>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly running: boolean;
  stderr(): string;
}

const HEALTH_LINE = /\bhealth (http:\/\/[^\s,]+)\/health\b/;

/**
 * Spawns `node <args>` in `cwd` (plain node: the bench's own `--import tsx`
 * is not passed on, and NODE_OPTIONS is cleared); stdout is discarded
 * (autoloop's log lines), stderr kept.
 */
export function spawnServer(
  name: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): ServerProcess {
  const spawnedAt = now();
  const proc = spawn(process.execPath, args, {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1', ...env },
  });
  let stderr = '';
  let running = true;
  const exited = once(proc, 'exit').then(([code, signal]) => {
    running = false;
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });
  const url = new Promise<string>((resolve, reject) => {
    proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      const match = HEALTH_LINE.exec(stderr);
      if (match?.[1]) resolve(match[1]);
    });
    exited.then(
      ({ code, signal }) => reject(new Error(`${name} exited (${code ?? signal}) before listening; stderr: ${stderr}`)),
      reject,
    );
  });
  url.catch(() => {}); // observed by the caller; not an unhandled rejection when it is not awaited
  if (proc.pid === undefined) throw new Error(`${name}: spawn failed`);
  return {
    name,
    process: proc,
    pid: proc.pid,
    spawnedAt,
    url,
    exited,
    get running() {
      return running;
    },
    stderr: () => stderr,
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `url` every 5 ms until it answers 200; resolves with performance.now() at that answer. */
export async function firstOk(url: string, timeoutMs = 30_000): Promise<number> {
  const deadline = now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return now();
    } catch {
      // not listening yet, or a slow answer: try again
    }
    if (now() > deadline) throw new Error(`${url}: no 200 within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** Spawn to first 200 on `path`, in ms, with the process's base URL. */
export async function spawnToOk(server: ServerProcess, path: string): Promise<{ url: string; readyMs: number }> {
  const url = await server.url;
  const at = await firstOk(`${url}${path}`);
  return { url, readyMs: at - server.spawnedAt };
}

/** `VmRSS` (and the peak, `VmHWM`) of a process from /proc/<pid>/status, in KiB. */
export function memoryKiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!match?.[1]) throw new Error(`/proc/${pid}/status: no ${name}`);
    return Number(match[1]);
  };
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process exited, with how it was stopped. */
export async function stopServer(server: ServerProcess, graceMs = 5_000): Promise<'exited' | 'SIGTERM' | 'SIGKILL'> {
  if (!server.running) return 'exited';
  server.process.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<'SIGKILL'>((resolve) => {
    timer = setTimeout(() => {
      server.process.kill('SIGKILL');
      resolve('SIGKILL');
    }, graceMs);
  });
  const how = await Promise.race([server.exited.then(() => 'SIGTERM' as const), killed]);
  clearTimeout(timer);
  await server.exited;
  return how;
}
