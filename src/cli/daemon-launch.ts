import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { systemClock } from '../time/system-clock.ts';
import { CLI_BIN, CliExit, configPath, EXIT, loadCliConfig } from './context.ts';
import type { DaemonFlags } from './daemon-client.ts';
import { type DaemonPaths, daemonPaths, readDaemon, removeStaleFiles } from './daemon-files.ts';
import { tailLines } from './log-file.ts';
import type { Output } from './output.ts';

/** How long `start` waits for the daemon's /health/live before giving up on it. */
export const START_TIMEOUT_MS = 30_000;
const POLL_MS = 100;

/**
 * `autoloop start` without --foreground: validates the config here (so a
 * broken one exits 2 in the user's terminal), refuses a second daemon,
 * spawns `start --foreground` detached, and waits until its /health/live
 * answers. Resolves with the exit code.
 *
 * Output: when the config has a `log.file`, the daemon's logger writes it
 * (with rotation) and the process's own stdout and stderr go to
 * `autoloop.out` beside the pidfile: one file per writer, so rotation never
 * renames a file under a redirect. With `log.file: false` the logger writes
 * to stdout, which is appended to the log file.
 */
export async function startDaemon(flags: DaemonFlags, output: Output): Promise<number> {
  const cwd = process.cwd();
  const file = configPath(flags, process.env, cwd);
  const config = await loadCliConfig(flags, process.env, cwd);
  const paths = daemonPaths(file, flags, cwd, config.log.file?.path);
  const current = readDaemon(paths);
  if (current.kind === 'running') {
    throw new CliExit(EXIT.failed, `already running (pid ${current.pid}); pidfile ${paths.pidFile}`);
  }
  if (current.kind === 'stale') {
    removeStaleFiles(paths);
    output.err(`autoloop: note: replaced a stale pidfile (pid ${current.pid} is gone): ${paths.pidFile}`);
  }
  const outputs = [...new Set([config.log.file ? paths.outFile : paths.logFile, paths.logFile])];
  for (const path of [...outputs, paths.pidFile]) mkdirSync(dirname(path), { recursive: true });
  const offsets = outputs.map(sizeOf);
  const child = spawnDaemon(daemonArgs(file, flags, paths), outputs[0] as string);
  const outcome = await waitUntilLive(child, paths);
  if (outcome.kind === 'live') {
    child.unref();
    output.out(`autoloop started (pid ${child.pid})`);
    output.out(`  log     ${paths.logFile}`);
    output.out(`  health  ${outcome.url}/health`);
    output.out(`  pidfile ${paths.pidFile}`);
    return EXIT.ok;
  }
  if (outcome.kind === 'timeout' && child.exitCode === null) child.kill('SIGTERM');
  child.unref();
  const why =
    outcome.kind === 'exited'
      ? `the daemon exited (${outcome.how}) before /health/live answered`
      : `/health/live did not answer within ${START_TIMEOUT_MS / 1000} s; sent the daemon (pid ${child.pid}) SIGTERM`;
  output.err(`autoloop: failed to start: ${why}`);
  outputs.forEach((path, i) => {
    const tail = tailLines(path, 20, offsets[i])?.lines ?? [];
    if (tail.length > 0) output.err(`last lines of ${path}:\n${tail.join('\n')}`);
  });
  return EXIT.failed;
}

/** The daemon's command line: the same flags, absolute paths, and the files it must write. */
function daemonArgs(file: string, flags: DaemonFlags, paths: DaemonPaths): string[] {
  const args = ['start', '--foreground', '--config', file, '--pid-file', paths.pidFile, '--daemon-log', paths.logFile];
  if (flags.store !== undefined) args.push('--store', flags.store);
  if (flags.host !== undefined) args.push('--host', flags.host);
  if (flags.port !== undefined) args.push('--port', flags.port);
  return args;
}

function spawnDaemon(args: string[], outFile: string) {
  const fd = openSync(outFile, 'a');
  try {
    // detached: its own session, so closing the terminal (SIGHUP) or Ctrl-C here does not reach it.
    return spawn(process.execPath, [CLI_BIN, ...args], {
      detached: true,
      stdio: ['ignore', fd, fd],
      cwd: process.cwd(),
      env: process.env,
    });
  } finally {
    closeSync(fd);
  }
}

type WaitOutcome = { kind: 'live'; url: string } | { kind: 'exited'; how: string } | { kind: 'timeout' };

async function waitUntilLive(child: ReturnType<typeof spawn>, paths: DaemonPaths): Promise<WaitOutcome> {
  let exited: string | null = null;
  child.once('exit', (code, signal) => {
    exited = signal ? `killed by ${signal}` : `exit code ${code}`;
  });
  child.once('error', (error) => {
    exited = `could not spawn: ${error.message}`;
  });
  const deadline = systemClock.monotonic() + START_TIMEOUT_MS;
  while (systemClock.monotonic() < deadline) {
    if (exited !== null) return { kind: 'exited', how: exited };
    const status = readDaemon(paths);
    const url = status.kind === 'running' && status.pid === child.pid ? status.state?.url : undefined;
    if (url && (await answers(`${url}/health/live`))) return { kind: 'live', url };
    await systemClock.sleep(POLL_MS);
  }
  return exited === null ? { kind: 'timeout' } : { kind: 'exited', how: exited };
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
