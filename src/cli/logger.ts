import type { Logger } from '../core/logger.ts';
import {
  type AutoloopLogger,
  createLogger,
  type LogFileOptions,
  type LogLevel,
  resolveLogLevel,
} from '../observability/logging.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { systemClock } from '../time/system-clock.ts';

export interface CliLoggerOptions {
  /** `config.log.level`; `env.AUTOLOOP_LOG_LEVEL` overrides it (a bad value throws a RangeError naming it). */
  level: LogLevel;
  /** `config.log.file`: JSON lines with size and age rotation. null: none. */
  file?: LogFileOptions | null;
  /** Usually process.env: AUTOLOOP_LOG_LEVEL and NO_COLOR are read from it. */
  env: Readonly<Record<string, string | undefined>>;
  /** The console. Default process.stdout; pretty when it is a TTY, coloured unless NO_COLOR is set. */
  stdout?: { isTTY?: boolean; write(line: string): unknown };
  /**
   * Also log to the console. Default true. A detached daemon that logs to
   * `file` passes false: its stdout must not be the same file, or every line
   * is written twice and rotation renames the file under the redirect.
   */
  console?: boolean;
}

/**
 * The CLI's logger: JSON lines to the rotating log file when the config
 * has one, and to stdout, pretty when stdout is a TTY (journald and
 * container runtimes collect JSON from a pipe). Call `close()` before exiting.
 *
 * @example
 * const logger = createCliLogger({ level: config.log.level, file: config.log.file, env: process.env });
 *
 * The one-argument form (a level string, JSON on stdout only) is kept for
 * callers not yet moved to the options form.
 */
export function createCliLogger(options: CliLoggerOptions | string): AutoloopLogger {
  if (typeof options === 'string') {
    const level = resolveLogLevel('info', { AUTOLOOP_LOG_LEVEL: options });
    return createLogger({ level, pretty: false, clock: systemClock });
  }
  const stdout = options.stdout ?? process.stdout;
  return createLogger({
    level: options.level,
    file: options.file ?? null,
    env: options.env,
    pretty: stdout.isTTY === true,
    console: options.console ?? true,
    stdout,
    clock: systemClock,
  });
}

/** Logs the runtime's events a person running the daemon wants to see. */
export function logRuntimeEvents(runtime: Runtime, logger: Logger): void {
  const bus = runtime.bus;
  bus.on('cycle.started', (e) => logger.debug(e, 'cycle started'));
  bus.on('cycle.finished', (e) => {
    const fields = {
      loop: e.loop,
      cycleId: e.cycleId,
      tickId: e.tickId,
      outcome: e.outcome.kind,
      durationMs: e.durationMs,
      ...e.counts,
    };
    if (e.outcome.kind === 'failed') logger.warn({ ...fields, error: e.outcome.error }, 'cycle failed');
    else logger.info(fields, 'cycle finished');
  });
  bus.on('cycle.skipped', (e) => logger.info(e, 'cycle skipped'));
  bus.on('item.failed', (e) => logger.warn(e, 'item failed'));
  bus.on('item.retried', (e) => logger.info(e, 'item retried'));
}
