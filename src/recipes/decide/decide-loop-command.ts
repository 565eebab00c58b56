/**
 * `autoloop decide loop [loop] [--interval 30s] [--max-cycles N]`: decide
 * cycles in the running daemon, one every interval (the seed's `auto loop
 * --interval 30 --max-cycles 0`), each sent as `decide execute` is (the
 * admin route, the same overrides), one line per cycle. Stops after
 * `--max-cycles` (0: never) or at SIGINT/SIGTERM, after the cycle under
 * way. A cycle the daemon cannot run (HTTP 409, no answer) is reported and
 * the next one tried at the next interval, unless it is the first (a
 * daemon that is not there); an HTTP 400 (a bad flag) stops at once.
 */
import { CliExit, EXIT, loadCliConfig } from '../../cli/context.ts';
import { errorText } from '../../cli/daemon-client.ts';
import type { Output } from '../../cli/output.ts';
import { onShutdownSignals } from '../../lifecycle/shutdown-signals.ts';
import { parseDuration } from '../../time/duration.ts';
import { systemClock } from '../../time/system-clock.ts';
import {
  adminRequest,
  decideLoopName,
  type ExecuteAnswer,
  executePath,
  type HistoryFlags,
} from './decide-admin-command.ts';
import { seedStatus } from './decide-command.ts';

export interface LoopFlags extends HistoryFlags {
  interval?: string;
  maxCycles?: string;
  max?: string;
  minConfidence?: string;
  dryRun?: boolean;
}

/** `--interval`: a duration ("30s", "2m") or a number of seconds (the seed's `--interval 30`); > 0. */
export function intervalMs(value: string | undefined): number {
  if (value === undefined) return 30_000;
  const text = value.trim();
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : parseDuration(text);
  if (ms === undefined || !(ms > 0)) {
    throw new CliExit(
      EXIT.usage,
      `decide loop: --interval: expected a duration like 30s or 2m, or a number of seconds > 0, got "${value}"`,
    );
  }
  return ms;
}

function maxCycles(value: string | undefined): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) {
    throw new CliExit(EXIT.usage, `decide loop: --max-cycles: expected an integer >= 0 (0: forever), got "${value}"`);
  }
  return n;
}

/** One cycle's line: when, the weakest target's health, what became of the decisions. */
function cycleLine(n: number, at: number, name: string, answer: ExecuteAnswer): string {
  const status = seedStatus(name, answer.latest ?? undefined, answer.decisions).status;
  const health = status ? `health ${status.health_score} ${status.health_state} (${status.target})` : 'no targets';
  const counts = new Map<string, number>();
  for (const d of answer.decisions) counts.set(d.result.kind, (counts.get(d.result.kind) ?? 0) + 1);
  const results = [...counts].map(([kind, count]) => `${count} ${kind}`).join(', ');
  const decisions = answer.decisions.length === 0 ? 'no decisions' : `${answer.decisions.length} decisions: ${results}`;
  return `${new Date(at).toISOString()} cycle ${n} ${answer.cycle.id}: ${health}; ${decisions}`;
}

function jsonLine(n: number, at: number, name: string, answer: ExecuteAnswer): string {
  const status = seedStatus(name, answer.latest ?? undefined, answer.decisions).status;
  return JSON.stringify({
    loop: name,
    cycle: n,
    id: answer.cycle.id,
    at: new Date(at).toISOString(),
    health_score: status?.health_score ?? null,
    health_state: status?.health_state ?? null,
    target: status?.target ?? null,
    decisions: answer.decisions,
  });
}

/** See the file header. Exit 1 when a cycle failed, 0 otherwise. */
export async function decideLoopCommand(loop: string | undefined, flags: LoopFlags, output: Output): Promise<void> {
  const every = intervalMs(flags.interval);
  const cycles = maxCycles(flags.maxCycles);
  const config = await loadCliConfig(flags, process.env, process.cwd());
  const name = decideLoopName(config, loop, 'loop');
  const path = executePath(name, flags);
  const stop = new AbortController();
  const remove = onShutdownSignals({
    graceful: (signal) => stop.abort(signal),
    forced: (signal) => stop.abort(signal),
  });
  let failed = 0;
  let n = 0;
  try {
    while (!stop.signal.aborted && (cycles === 0 || n < cycles)) {
      n += 1;
      const began = systemClock.monotonic();
      const problem = await oneCycle(n, name, path, flags, output);
      if (problem !== null) {
        failed += 1;
        output.err(`${new Date(systemClock.now()).toISOString()} cycle ${n}: ${problem}`);
      }
      if (cycles !== 0 && n >= cycles) break;
      const wait = Math.max(0, every - (systemClock.monotonic() - began));
      await systemClock.sleep(wait, stop.signal).catch(() => {});
    }
  } finally {
    remove();
  }
  const why = stop.signal.aborted ? ` (${String(stop.signal.reason)})` : '';
  output.err(`decide loop: stopped after ${n} cycle${n === 1 ? '' : 's'}${why}; ${failed} failed`);
  if (failed > 0) throw new CliExit(EXIT.failed, `decide loop: ${failed} of ${n} cycles failed`);
}

/** One cycle: prints its line; returns the problem in words, or null. Throws to stop the loop. */
async function oneCycle(n: number, name: string, path: string, flags: LoopFlags, output: Output) {
  let response: Awaited<ReturnType<typeof adminRequest<ExecuteAnswer>>>;
  try {
    response = await adminRequest<ExecuteAnswer>('loop', path, flags);
  } catch (error) {
    // After the first cycle, a daemon that does not answer may be restarting: try again next time.
    if (n === 1 || !(error instanceof CliExit) || error.code !== EXIT.failed) throw error;
    return error.message;
  }
  if (response.status === 400) throw new CliExit(EXIT.failed, `decide loop: ${errorText(response)}`);
  if (response.status < 200 || response.status >= 300) {
    if (n === 1 && response.status !== 409) throw new CliExit(EXIT.failed, `decide loop: ${errorText(response)}`);
    return errorText(response);
  }
  const at = systemClock.now();
  output.out(flags.json ? jsonLine(n, at, name, response.body) : cycleLine(n, at, name, response.body));
  return null;
}
