import { type Command, Option } from 'commander';
import type { Logger } from '../../core/logger.ts';
import { onShutdownSignals, signalExitCode } from '../../lifecycle/shutdown-signals.ts';
import type { AutoloopLogger } from '../../observability/logging.ts';
import type { Runtime } from '../../runtime/runtime.ts';
import { systemClock } from '../../time/system-clock.ts';
import { daemonToken } from '../admin-token.ts';
import { CliExit, configPath, EXIT, loadCliConfig } from '../context.ts';
import { clientUrl, type DaemonFlags } from '../daemon-client.ts';
import { claimPidFile, type DaemonState, daemonPaths, removeDaemonFiles, writeState } from '../daemon-files.ts';
import { startDaemon } from '../daemon-launch.ts';
import { type InstanceFile, removeInstanceFile, writeInstanceFile } from '../instance-files.ts';
import type { Output } from '../output.ts';

export interface StartFlags extends DaemonFlags {
  foreground?: boolean;
  checkOnly?: boolean;
  json?: boolean;
  /** Set by a background `start` for the daemon it spawns: the log file its logger writes (recorded in autoloop.json). */
  daemonLog?: string;
}

/** The options `start` and `restart` share. */
export function startOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'config file (default: $AUTOLOOP_CONFIG or ./autoloop.yaml)')
    .option('--store <url>', 'store URL, overrides `store:` (sqlite://./path.db, memory://)')
    .option('--host <host>', 'HTTP bind address, overrides `http.host` (default 127.0.0.1)')
    .option('--port <port>', 'HTTP port, overrides `http.port` (default 8080; 0 picks a free port)')
    .option(
      '--pid-file <file>',
      'pidfile (default <config dir>/.autoloop/autoloop.pid; with --foreground written only when given)',
    )
    .option(
      '--log-file <file>',
      "background only: the log file (default: the config's log.file, .autoloop/autoloop.log)",
    );
}

export function registerStart(program: Command, output: Output): void {
  startOptions(
    program
      .command('start')
      .description(
        'start the loops as a background daemon (pidfile, log file); --foreground for systemd and containers',
      )
      .option('-f, --foreground', 'stay in the foreground, output on stdout/stderr (systemd, containers, terminals)')
      .option(
        '--check-only',
        'check the config, service commands, store, backup dir and ports; start nothing (exit 0 ok, 1 a check failed, 2 bad config)',
      )
      .option('--json', 'with --check-only: print the report as JSON'),
  )
    .addOption(new Option('--daemon-log <file>', 'set by `start` for the daemon it spawns').hideHelp())
    .addHelpText(
      'after',
      `
Background (the default): checks the config, spawns itself detached with
--foreground (logging to the log file; its own stdout and stderr go to
autoloop.out beside the pidfile), waits until /health/live
answers (30 s at most; on failure prints the log's last lines and exits 1),
then prints the pid, the log path and the health URL. A live pidfile means
"already running" (exit 1); a stale one is replaced. The daemon writes the
pidfile and, once listening, autoloop.json beside it (pid, url with the real
port, start time). Every instance, background or foreground (npm start,
systemd, a container), also writes its runtime file
.autoloop/instances/<pid>.json (mode 0600: pid, url, instance id, start time,
config, admin token), which stop, status, health, tasks, logs, pause and
resume read. All are removed when it exits; a file whose pid is gone is
stale and removed by the next command that reads it.

Admin token: http.token, else $AUTOLOOP_TOKEN from this environment, else on
a loopback bind a random one kept only in the runtime file (so the same user's
pause and resume need no token); on a network bind with neither, admin routes
stay off.

Shutdown: the first SIGTERM or SIGINT, or POST /shutdown with the admin
token, stops new cycles, lets in-flight items finish for up to shutdown.grace
(default 30s), then aborts them (they return to the queue), closes the store,
removes the pidfile and state file and exits 0. A second signal exits at once.`,
    )
    .action(async (flags: StartFlags) => {
      if (flags.checkOnly) {
        process.exitCode = await checkOnly(flags, output);
        return;
      }
      process.exitCode = flags.foreground ? await foreground(flags, output) : await startDaemon(flags, output);
    });
}

/** `--check-only`: the report of {@link checkStart}; warnings do not fail it. */
async function checkOnly(flags: StartFlags, output: Output): Promise<number> {
  const config = await loadCliConfig(flags, process.env, process.cwd());
  const { checkStart } = await import('../start-check.ts');
  const lines = await checkStart(config, process.env);
  const failed = lines.filter((l) => l.status === 'fail').length;
  if (flags.json) output.out(JSON.stringify({ ok: failed === 0, checks: lines }, null, 2));
  else {
    for (const line of lines) output.out(`${line.status.padEnd(4)}  ${line.what}: ${line.detail}`);
    output.out(
      failed === 0 ? 'ready to start (nothing was started)' : `${failed} check(s) failed (nothing was started)`,
    );
  }
  return failed === 0 ? EXIT.ok : EXIT.failed;
}

async function foreground(flags: StartFlags, output: Output): Promise<number> {
  if (flags.logFile && !flags.daemonLog) {
    throw new CliExit(
      EXIT.usage,
      '--log-file: applies to background start; in the foreground set log.file in the config, or collect stdout (journald, docker logs)',
    );
  }
  // Asked for before the config is read: the loader reads their files while the config is parsed and validated.
  const loading = Promise.all([
    import('../../runtime/runtime.ts'),
    import('../../runtime/from-config.ts'),
    import('../../storage/open-store.ts'),
    import('../logger.ts'),
  ]);
  loading.catch(() => {}); // a config error is reported first; a failed import is awaited below
  const config = await loadCliConfig(flags, process.env, process.cwd());
  const [{ createRuntime }, { runtimeOptionsFromConfig }, { redactStoreUrl }, { createCliLogger, logRuntimeEvents }] =
    await loading;
  // Started by a background `start`: the logger writes the log file it was
  // given, and only there (its stdout is a file too). Else: the config's
  // log file, if any, and stdout for journald or the container runtime.
  const file = flags.daemonLog && config.log.file ? { ...config.log.file, path: flags.daemonLog } : config.log.file;
  const logger = createCliLogger({
    level: config.log.level,
    file,
    env: process.env,
    console: !(flags.daemonLog && file),
  });
  const admin = daemonToken(config, process.env);
  const files = claimDaemonFiles(flags, logger);
  const withToken =
    admin.token === config.http.token ? config : { ...config, http: { ...config.http, token: admin.token } };
  // The daemon's process is autoloop's own: its HTTP adapter may use its faster Request/Response globals.
  const http = withToken.http && { ...withToken.http, replaceFetchGlobals: true };
  const runtime = createRuntime(runtimeOptionsFromConfig(withToken, { logger, processMetrics: true, http }));
  for (const note of config.notes) logger.info(note);
  logRuntimeEvents(runtime, logger);
  const stopped = stopOnSignals(runtime, logger, config.shutdown.graceMs, files.release);
  try {
    await runtime.start();
  } catch (error) {
    files.release();
    await logger.close();
    throw error;
  }
  // A signal during start-up may have stopped it already (and removed the pidfile).
  if (runtime.state === 'running') {
    files.record(
      {
        pid: process.pid,
        url: runtime.url === null ? null : clientUrl(runtime.url),
        startedAt: new Date(systemClock.now()).toISOString(),
        logFile: file?.path ?? flags.daemonLog ?? null,
        config: config.file,
        graceMs: config.shutdown.graceMs,
      },
      { instance: runtime.owner, host: runtime.url === null ? null : config.http.host, token: admin.token },
    );
  }
  logger.info(
    {
      config: config.file,
      store: redactStoreUrl(config.store),
      loops: runtime.loopNames,
      url: runtime.url,
      adminToken: admin.source,
    },
    'autoloop started',
  );
  output.err(
    `autoloop: ${runtime.loopNames.length} loop(s) running; health ${runtime.url}/health, metrics ${runtime.url}/metrics`,
  );
  return stopped;
}

interface RunningFiles {
  /** Once listening: the state file (with a pidfile) and the instance's runtime file (always). */
  record(state: DaemonState, extra: Pick<InstanceFile, 'instance' | 'host' | 'token'>): void;
  /** Removes what `record` and the claim wrote; safe to call more than once. */
  release(): void;
}

/**
 * The files of a foreground process: its runtime file under
 * `.autoloop/instances/` always (instance-files.ts: how `status`, `stop`,
 * `health` and the admin commands find it), and the pidfile and state file
 * when `--pid-file` asks for them (a background `start` always does). No
 * pidfile by default: under systemd or in a container a pidfile left by a
 * crash would name a pid (often 1) that is alive again; a runtime file with
 * that pid is overwritten by the new process.
 */
function claimDaemonFiles(flags: StartFlags, logger: Logger): RunningFiles {
  const configFile = configPath(flags, process.env, process.cwd());
  const paths = flags.pidFile ? daemonPaths(configFile, flags, process.cwd()) : null;
  if (paths) {
    const { replaced } = claimPidFile(paths, process.pid);
    if (replaced !== null) logger.warn({ pidFile: paths.pidFile, stalePid: replaced }, 'replaced a stale pidfile');
  }
  return {
    record(state, extra) {
      if (paths) writeState(paths, state);
      const port = state.url === null ? null : Number(new URL(state.url).port);
      writeInstanceFile({ ...state, ...extra, port, pidFile: paths?.pidFile ?? null });
    },
    release() {
      removeInstanceFile(configFile, process.pid);
      if (paths) removeDaemonFiles(paths, process.pid);
    },
  };
}

/**
 * Resolves with the exit code once the runtime has drained and stopped,
 * whoever asked: a SIGTERM/SIGINT, or `POST /shutdown` (the runtime's own
 * `stop()`, seen as `runtime.stopping` on the bus). Both take the same path:
 * the same log lines, the daemon files released, exit 0. A second signal
 * exits at once; a signal after `POST /shutdown` (Kubernetes sends SIGTERM
 * right after a preStop hook returns) is the first one and lets the drain
 * go on. `release` runs on every path.
 */
function stopOnSignals(
  runtime: Runtime,
  logger: AutoloopLogger,
  graceMs: number,
  release: () => void,
): Promise<number> {
  return new Promise<number>((resolve) => {
    let draining = false;
    const drain = (why: { signal: NodeJS.Signals } | { reason: string }) => {
      if (draining) return;
      draining = true;
      logger.info({ ...why, graceMs }, 'shutting down: draining in-flight work');
      const reason = 'signal' in why ? why.signal : why.reason;
      runtime.stop({ reason }).then(
        async ({ drained }) => {
          logger.info({ drained }, 'stopped');
          remove();
          requested.dispose();
          release();
          await logger.close();
          resolve(EXIT.ok);
        },
        async (error) => {
          logger.error({ err: error }, 'shutdown failed');
          requested.dispose();
          release();
          await logger.close();
          resolve(EXIT.failed);
        },
      );
    };
    const remove = onShutdownSignals({
      graceful: (signal) => drain({ signal }),
      forced(signal) {
        logger.warn({ signal }, 'second signal: exiting now');
        release();
        process.exit(signalExitCode(signal));
      },
    });
    // Emitted inside runtime.stop() before it has returned its promise: ask for
    // that promise a microtask later, or a second stop would begin.
    const requested = runtime.bus.on('runtime.stopping', ({ reason }) => queueMicrotask(() => drain({ reason })));
  });
}
