import type { Command } from 'commander';
import { onShutdownSignals, signalExitCode } from '../../lifecycle/shutdown-signals.ts';
import { createRuntime } from '../../runtime/runtime.ts';
import { redactStoreUrl } from '../../storage/open-store.ts';
import { CliExit, type ConfigFlags, EXIT, loadCliConfig } from '../context.ts';
import { createCliLogger, logRuntimeEvents } from '../logger.ts';
import type { Output } from '../output.ts';

interface StartFlags extends ConfigFlags {
  foreground?: boolean;
}

export function registerStart(program: Command, output: Output): void {
  program
    .command('start')
    .description('run the loops of the config: schedules, HTTP health and metrics, until SIGTERM/SIGINT')
    .option('-f, --foreground', 'stay in the foreground (for systemd, containers and terminals)')
    .option('-c, --config <file>', 'config file (default: $AUTOLOOP_CONFIG or ./autoloop.yaml)')
    .option('--store <url>', 'store URL, overrides `store:` (sqlite://./path.db, memory://)')
    .option('--host <host>', 'HTTP bind address, overrides `http.host` (default 127.0.0.1)')
    .option('--port <port>', 'HTTP port, overrides `http.port` (default 8080; 0 picks a free port)')
    .addHelpText(
      'after',
      `
Shutdown: the first SIGTERM or SIGINT stops new cycles, lets in-flight items
finish for up to shutdown.grace (default 30s), then aborts them (they return
to the queue), closes the store and exits 0. A second signal exits at once.`,
    )
    .action(async (flags: StartFlags) => {
      process.exitCode = await start(flags, output);
    });
}

async function start(flags: StartFlags, output: Output): Promise<number> {
  if (!flags.foreground) {
    throw new CliExit(
      EXIT.usage,
      'start: background mode (pidfile, log file) is not available yet; run `autoloop start --foreground` under systemd, a container, or your terminal',
    );
  }
  const config = await loadCliConfig(flags, process.env, process.cwd());
  const logger = createCliLogger(process.env.AUTOLOOP_LOG_LEVEL ?? config.log.level);
  const runtime = createRuntime({
    loops: config.loops,
    store: config.store,
    http: config.http,
    shutdownGraceMs: config.shutdown.graceMs,
    leaseTtlMs: config.leases.ttlMs,
    dependencies: config.dependencies,
    logger,
    processMetrics: true,
    cwd: config.dir,
  });
  logRuntimeEvents(runtime, logger);
  const stopped = new Promise<number>((resolve) => {
    const remove = onShutdownSignals({
      graceful(signal) {
        logger.info({ signal, graceMs: config.shutdown.graceMs }, 'shutting down: draining in-flight work');
        runtime.stop({ reason: signal }).then(
          ({ drained }) => {
            logger.info({ drained }, 'stopped');
            remove();
            resolve(EXIT.ok);
          },
          (error) => {
            logger.error({ err: error }, 'shutdown failed');
            resolve(EXIT.failed);
          },
        );
      },
      forced(signal) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(signalExitCode(signal));
      },
    });
  });
  await runtime.start();
  logger.info(
    { config: config.file, store: redactStoreUrl(config.store), loops: runtime.loopNames, url: runtime.url },
    'autoloop started',
  );
  output.err(
    `autoloop: ${runtime.loopNames.length} loop(s) running; health ${runtime.url}/health, metrics ${runtime.url}/metrics`,
  );
  return stopped;
}
