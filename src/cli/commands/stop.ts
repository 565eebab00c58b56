import type { Command } from 'commander';
import { formatDuration, parseDuration } from '../../time/duration.ts';
import { systemClock } from '../../time/system-clock.ts';
import { CliExit, EXIT } from '../context.ts';
import { type DaemonFlags, INSTANCE_OPTION, locateInstances, notRunning, pickInstance } from '../daemon-client.ts';
import { type DaemonStatus, isAlive, removeDaemonFiles, removeStaleFiles } from '../daemon-files.ts';
import { removeInstanceFile } from '../instance-files.ts';
import type { Output } from '../output.ts';

export interface StopFlags extends DaemonFlags {
  timeout?: string;
}

/** `stop` waits at least this long, and at least the daemon's shutdown grace plus a margin. */
const DEFAULT_STOP_TIMEOUT_MS = 30_000;
const GRACE_MARGIN_MS = 10_000;
/** After SIGKILL the kernel reaps at once; this only bounds a pathological wait. */
const KILL_WAIT_MS = 5_000;

export function registerStop(program: Command, output: Output): void {
  program
    .command('stop')
    .description(
      'stop what runs from the config (background daemon or foreground): SIGTERM, wait for its graceful drain, SIGKILL if it takes too long',
    )
    .option('-c, --config <file>', 'config file whose instances to stop (default: $AUTOLOOP_CONFIG or ./autoloop.yaml)')
    .option('--pid-file <file>', 'pidfile of one daemon (default: every instance of the config)')
    .option(...INSTANCE_OPTION)
    .option(
      '--timeout <duration>',
      "how long to wait after SIGTERM before SIGKILL (default 30s, or the daemon's shutdown.grace + 10s if longer)",
    )
    .addHelpText(
      'after',
      `
Every instance started from the config is found through its runtime file
(.autoloop/instances/<pid>.json), whether \`start\` put it in the background or
it runs in the foreground (npm start, systemd, a container). With several,
all are stopped together, unless --instance names one.
Exit 0 when each is stopped or nothing was running (with a note); says which signal ended each.`,
    )
    .action(async (flags: StopFlags) => {
      const timeoutMs = flags.timeout === undefined ? undefined : parseTimeout(flags.timeout);
      const all = locateInstances(flags, process.env, process.cwd());
      const targets = flags.instance === undefined ? all : [pickInstance(all, flags.instance, 'stop')];
      const codes = await Promise.all(targets.map((status) => stopDaemon(status, timeoutMs, output)));
      process.exitCode = codes.find((code) => code !== EXIT.ok) ?? EXIT.ok;
    });
}

export function parseTimeout(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 0) {
    throw new CliExit(EXIT.usage, `--timeout: expected a duration like "30s" or "2m", got "${text}"`);
  }
  return ms;
}

/**
 * Stops the daemon `status` describes and says how: gracefully (SIGTERM) or
 * forcibly (SIGKILL after `timeoutMs`). Resolves with the exit code: 0 when
 * it is stopped or was not running.
 */
export async function stopDaemon(status: DaemonStatus, timeoutMs: number | undefined, output: Output): Promise<number> {
  if (status.kind === 'stopped') {
    output.out(`${notRunning(status)}; nothing to stop`);
    return EXIT.ok;
  }
  if (status.kind === 'stale') {
    removeStaleFiles(status.paths);
    output.out(`${notRunning(status)}; removed it`);
    return EXIT.ok;
  }
  const { pid, paths } = status;
  const waitMs = timeoutMs ?? Math.max(DEFAULT_STOP_TIMEOUT_MS, (status.state?.graceMs ?? 0) + GRACE_MARGIN_MS);
  const startedAt = systemClock.monotonic();
  const release = () => {
    removeDaemonFiles(paths, pid);
    if (status.state?.config) removeInstanceFile(status.state.config, pid);
  };
  if (!signal(pid, 'SIGTERM')) {
    release();
    output.out(`autoloop (pid ${pid}) had already exited`);
    return EXIT.ok;
  }
  output.err(
    `autoloop: sent SIGTERM to pid ${pid}; waiting up to ${formatDuration(waitMs)} for in-flight work to drain`,
  );
  if (await exitsWithin(pid, waitMs)) {
    release();
    output.out(`autoloop stopped (pid ${pid}, SIGTERM, took ${formatDuration(systemClock.monotonic() - startedAt)})`);
    return EXIT.ok;
  }
  signal(pid, 'SIGKILL');
  if (!(await exitsWithin(pid, KILL_WAIT_MS))) {
    output.err(`autoloop: pid ${pid} survived SIGKILL for ${formatDuration(KILL_WAIT_MS)}; check it with ps`);
    return EXIT.failed;
  }
  release();
  output.out(
    `autoloop killed (pid ${pid}, SIGKILL): it did not exit within ${formatDuration(waitMs)} of SIGTERM; ` +
      'unfinished items go back to the queue once their claims expire (about one lease TTL)',
  );
  return EXIT.ok;
}

function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw new CliExit(EXIT.failed, `cannot signal pid ${pid}: ${(error as Error).message}`);
  }
}

async function exitsWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = systemClock.monotonic() + ms;
  while (isAlive(pid)) {
    if (systemClock.monotonic() >= deadline) return false;
    await systemClock.sleep(50);
  }
  return true;
}
