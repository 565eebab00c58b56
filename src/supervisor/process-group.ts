import { type ChildProcess, spawn } from 'node:child_process';
import type { Clock } from '../time/clock.ts';
import { groupMembers } from './process-table.ts';

/**
 * A service's processes are one process group: spawned detached, the child
 * leads a new group whose id is its pid, and everything it starts (a shell's
 * children, workers) belongs to it unless it calls setsid. Stopping sends
 * the stop signal to the whole group, waits until no member is left, and
 * SIGKILLs the group at the kill timeout: the same protocol as
 * `execution/command.ts`, for a process that runs for days.
 */
export function spawnGroup(argv: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): ChildProcess {
  const [file, ...args] = argv as [string, ...string[]];
  return spawn(file, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Sends `signal` to every process in group `pgid`. False when the group is gone (ESRCH). */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    // EPERM: a member we may not signal (a setuid child); the group still exists.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a live process of group `pgid` is left. Zombies do not count:
 * members whose parent died are reparented to init, which may reap them
 * only after a while (about a second on some container inits).
 */
export function groupAlive(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false;
  return process.platform !== 'linux' || groupMembers(pgid).length > 0;
}

/** How a stop ended: every member left after the stop signal, or the group had to be SIGKILLed. */
export type StopOutcome = { kind: 'gone' } | { kind: 'killed' };

const POLL_MS = 50;

/**
 * Stops group `pgid`: `signal` to the group, then polls until it is empty;
 * at `timeoutMs` (or at once when `deadline` aborts) SIGKILL to the group,
 * then waits for it to go. Resolves once no member is left.
 *
 * @example
 * await stopGroup(child.pid, { signal: 'SIGTERM', timeoutMs: 10_000, clock });
 */
export async function stopGroup(
  pgid: number,
  options: { signal: NodeJS.Signals; timeoutMs: number; clock: Clock; deadline?: AbortSignal },
): Promise<StopOutcome> {
  const { clock } = options;
  if (!signalGroup(pgid, options.signal)) return { kind: 'gone' };
  const until = clock.monotonic() + options.timeoutMs;
  while (clock.monotonic() < until && !options.deadline?.aborted) {
    await clock.sleep(POLL_MS);
    if (!groupAlive(pgid)) return { kind: 'gone' };
  }
  signalGroup(pgid, 'SIGKILL');
  // SIGKILL cannot be ignored; the members go once the kernel reaps them (our child via Node's handler).
  for (let i = 0; i < 100 && groupAlive(pgid); i++) await clock.sleep(POLL_MS);
  return { kind: 'killed' };
}
