/**
 * Real runtime processes for the guarantee tests (test/guarantees-*.test.ts):
 * the spec a child runs (see runtime-child.ts), and a parent-side handle that
 * collects the child's JSON lines and waits on them. The processes share a
 * SQLite file or any store URL (Redis).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
export const CHILD_SCRIPT = join(PROJECT_ROOT, 'test', 'support', 'runtime-child.ts');

/**
 * Loaded first in every child, before tsx and the child script: the child's
 * one SIGTERM listener, which calls `globalThis.autoloopChildSigterm` (exit 0
 * until runtime-child.ts replaces it with a graceful stop), then a `boot`
 * line. Before it runs, a SIGTERM kills the child by the signal's default
 * action, so {@link stopChild} waits for `boot` before it signals.
 */
const EARLY_SIGTERM = `data:text/javascript,${encodeURIComponent(
  [
    'globalThis.autoloopChildSigterm = () => process.exit(0);',
    "process.on('SIGTERM', () => globalThis.autoloopChildSigterm());",
    'const line = { ev: "boot", t: Date.now(), m: performance.now(), role: process.env.AUTOLOOP_CHILD_ROLE, pid: process.pid };',
    "process.stdout.write(JSON.stringify(line) + '\\n');",
  ].join('\n'),
)}`;

/** True under `npm run test:long`: the guarantee tests use their full counts and durations. */
export const LONG = process.env.AUTOLOOP_LONG === '1';

/**
 * What one child process runs. The store is `store` (a URL for `openStore`,
 * e.g. `redis://127.0.0.1:6379/3`) when given, else the SQLite file `db`;
 * one of the two is required.
 */
export interface ChildSpec {
  /** Absolute path of the SQLite file every process shares (when no `store` URL is given). */
  readonly db?: string;
  /** The store every process shares, as a URL for `openStore` (takes precedence over `db`). */
  readonly store?: string;
  /** A name for this process in the output and in results (`victim`, `peer-1`, ...). */
  readonly role: string;
  readonly loop: {
    readonly name: string;
    readonly trigger: { cron: string } | { manual: true };
    /** observe returns keys `k0 .. k<items-1>` (0: no items). */
    readonly items: number;
    /** Default 10. */
    readonly concurrency?: number;
    /** Per-attempt timeout, default '2m'. */
    readonly timeout?: string;
  };
  readonly act?: {
    /** Sleep this long, honouring the item's signal. */
    readonly sleepMs?: number;
    /** Busy-wait (block the event loop) this long on the first act of each key in this process. */
    readonly busyMs?: number;
  };
  readonly leaseTtlMs?: number;
  readonly recoveryIntervalMs?: number;
  readonly shutdownGraceMs?: number;
  /** Schedulers and the recovery loop (default true). */
  readonly schedule?: boolean;
  /** Run one manual cycle of the loop once started. */
  readonly runOnStart?: boolean;
  /**
   * On every `lease.lost`, try the write a stale holder would make: complete the
   * item with the lost lease's (stale) fence. Logged as `probe`; must be refused.
   */
  readonly probeLateWrites?: boolean;
}

/** One line a child printed: what happened (`ev`), `t` = Date.now(), `m` = performance.now(). */
export interface ChildLine {
  readonly ev: string;
  readonly t: number;
  readonly m: number;
  readonly role: string;
  readonly pid: number;
  readonly [field: string]: unknown;
}

/** A bus event as the child printed it. */
export interface BusLine extends ChildLine {
  readonly ev: 'bus';
  readonly type: string;
  readonly data: Record<string, unknown>;
}

export interface Child {
  readonly spec: ChildSpec;
  readonly process: ChildProcess;
  readonly lines: ChildLine[];
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True until the child exited. */
  readonly running: boolean;
  /** Resolves with the first line matching `match`; rejects after `timeoutMs` or when the child exits first. */
  waitFor(match: (line: ChildLine) => boolean, timeoutMs?: number): Promise<ChildLine>;
  /** Resolves once `count(lines)` holds. */
  waitUntil(what: string, ok: (lines: ChildLine[]) => boolean, timeoutMs?: number): Promise<void>;
  /** The child's bus events of `type`. */
  bus(type: string): BusLine[];
}

/** Starts `runtime-child.ts` with `spec`. Register it for cleanup with {@link killAll}. */
export function startChild(spec: ChildSpec, registry: Child[]): Child {
  if (spec.store === undefined && spec.db === undefined) {
    throw new Error(
      `startChild ${spec.role}: expected a store, "store" (a URL) or "db" (a SQLite file path), got neither`,
    );
  }
  const proc = spawn(
    process.execPath,
    ['--import', EARLY_SIGTERM, '--import', 'tsx', CHILD_SCRIPT, JSON.stringify(spec)],
    {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', AUTOLOOP_CHILD_ROLE: spec.role },
    },
  );
  const lines: ChildLine[] = [];
  let stderr = '';
  let partial = '';
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const part of parts) {
      if (part.trim() === '') continue;
      try {
        lines.push(JSON.parse(part) as ChildLine);
      } catch {
        stderr += `(unparsed stdout) ${part}\n`;
      }
    }
    wake();
  });
  proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  let running = true;
  const exited = once(proc, 'exit').then(([code, signal]) => {
    running = false;
    wake();
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });
  const waitUntil = (what: string, ok: (lines: ChildLine[]) => boolean, timeoutMs = 45_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`${spec.role}: timed out after ${timeoutMs} ms waiting for ${what}; stderr: ${stderr}`));
      }, timeoutMs);
      const check = () => {
        if (ok(lines)) {
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        } else if (!running) {
          clearTimeout(timer);
          waiters.delete(check);
          reject(new Error(`${spec.role} exited while waiting for ${what}; stderr: ${stderr}`));
        }
      };
      waiters.add(check);
      check();
    });
  const child: Child = {
    spec,
    process: proc,
    lines,
    stderr: () => stderr,
    exited,
    get running() {
      return running;
    },
    async waitFor(match, timeoutMs) {
      await waitUntil('a matching line', (all) => all.some(match), timeoutMs);
      return lines.find(match) as ChildLine;
    },
    waitUntil,
    bus: (type) => lines.filter((l): l is BusLine => l.ev === 'bus' && l.type === type),
  };
  registry.push(child);
  return child;
}

/** SIGKILLs (after a SIGCONT, in case it is stopped) every child still running and waits for it. */
export async function killAll(registry: Child[]): Promise<void> {
  await Promise.all(
    registry.splice(0).map(async (child) => {
      if (child.running) {
        child.process.kill('SIGCONT');
        child.process.kill('SIGKILL');
      }
      await child.exited;
    }),
  );
}

/**
 * Sends SIGTERM (once the child's listener is in place: its `boot` line) and
 * waits for a graceful exit; rejects with the child's stderr when it does not
 * exit 0.
 */
export async function stopChild(child: Child, timeoutMs = 45_000): Promise<void> {
  // A child signalled before its SIGTERM listener exists would die of the signal instead of stopping.
  await child.waitFor((l) => l.ev === 'boot', timeoutMs).catch(() => {});
  if (!child.running) return;
  child.process.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${child.spec.role} did not exit within ${timeoutMs} ms of SIGTERM`)),
      timeoutMs,
    );
  });
  try {
    const { code, signal } = await Promise.race([child.exited, timeout]);
    if (code !== 0) throw new Error(`${child.spec.role} exited with ${code ?? signal}; stderr: ${child.stderr()}`);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `ok()` every 20 ms until it holds; rejects naming `what` after `timeoutMs`. */
export async function pollUntil(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}
