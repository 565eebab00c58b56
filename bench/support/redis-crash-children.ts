/**
 * Parent side of the crash-to-rerun trials (bench/redis-recovery.ts): the
 * spec one child runs (./redis-crash-child.ts) and a handle that collects
 * its JSON lines.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CHILD_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'redis-crash-child.ts');
const PROJECT_ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/** What one crash-trial process runs. */
export interface CrashChildSpec {
  readonly system: 'autoloop' | 'bullmq';
  /** `victim`: its act sleeps until killed; `peer`: its act returns at once. */
  readonly role: 'victim' | 'peer';
  /** The Redis server both processes of the trial share. */
  readonly url: string;
  /** autoloop: the store's key prefix; BullMQ: the queue name. One per trial. */
  readonly namespace: string;
  /** autoloop only: the runtime's lease TTL (default 10 s when absent). */
  readonly leaseTtlMs?: number;
}

/** One line a child printed: what happened (`ev`) and when (`t`, Date.now()). */
export interface CrashLine {
  readonly ev: string;
  readonly t: number;
  readonly [field: string]: unknown;
}

export interface CrashChild {
  readonly spec: CrashChildSpec;
  readonly process: ChildProcess;
  readonly lines: CrashLine[];
  readonly exited: Promise<void>;
  /** Resolves with the first line whose `ev` is `ev`; rejects after `timeoutMs` or when the child exits first. */
  waitFor(ev: string, timeoutMs: number): Promise<CrashLine>;
}

/** Starts a child for `spec`; add it to `registry` so {@link killCrashChildren} ends it. */
export function startCrashChild(spec: CrashChildSpec, registry: CrashChild[]): CrashChild {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD_SCRIPT, JSON.stringify(spec)], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: CrashLine[] = [];
  const wakers = new Set<() => void>();
  let stderr = '';
  let partial = '';
  let running = true;
  proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const part of parts) if (part.trim() !== '') lines.push(JSON.parse(part) as CrashLine);
    for (const wake of [...wakers]) wake();
  });
  proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(proc, 'exit').then(() => {
    running = false;
    for (const wake of [...wakers]) wake();
  });
  const name = `${spec.system} ${spec.role} (${spec.namespace})`;
  const waitFor = (ev: string, timeoutMs: number) =>
    new Promise<CrashLine>((resolve, reject) => {
      const timer = setTimeout(() => {
        wakers.delete(check);
        reject(new Error(`${name}: no "${ev}" line within ${timeoutMs} ms; stderr: ${stderr}`));
      }, timeoutMs);
      const check = () => {
        const found = lines.find((l) => l.ev === ev);
        if (!found && running) return;
        clearTimeout(timer);
        wakers.delete(check);
        if (found) resolve(found);
        else reject(new Error(`${name}: exited before a "${ev}" line; stderr: ${stderr}`));
      };
      wakers.add(check);
      check();
    });
  const child: CrashChild = { spec, process: proc, lines, exited, waitFor };
  registry.push(child);
  return child;
}

/** SIGKILLs every child in `registry` still running and waits for each to exit. */
export async function killCrashChildren(registry: CrashChild[]): Promise<void> {
  await Promise.all(
    registry.splice(0).map(async (child) => {
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
      await child.exited;
    }),
  );
}
