import { once } from 'node:events';
import { createRequire } from 'node:module';
import { basename, dirname } from 'node:path';
import pino, { type DestinationStream, type LevelWithSilent, type Logger as PinoLogger } from 'pino';
import { createStream, type RotatingFileStream } from 'rotating-file-stream';
import type { Clock } from '../time/clock.ts';

import { LOG_LEVELS, type LogLevel } from './log-levels.ts';

export { LOG_LEVELS, type LogLevel } from './log-levels.ts';

/** The log file and its rotation (`log.file` and `log.rotate` in the config). */
export interface LogFileOptions {
  /** Absolute path of the live file; rotated files sit beside it as `<name>.1`, `<name>.2`, ... (`.gz` when compressed). */
  readonly path: string;
  /** Rotate when the file reaches this size: `"10M"` (units B, K, M, G). */
  readonly size: string;
  /** Also rotate at this age, on calendar boundaries: `"1d"`, `"12h"`, `"30m"`; null for size only. */
  readonly interval: string | null;
  /** Rotated files kept; older ones are deleted. */
  readonly keep: number;
  /** Gzip rotated files. */
  readonly compress: boolean;
}

/** A writable that takes whole log lines (process.stdout, a test's capture). */
export interface LineSink {
  write(line: string): unknown;
}

export interface CreateLoggerOptions {
  /** From the config; `env.AUTOLOOP_LOG_LEVEL` overrides it. */
  level: LogLevel;
  /** JSON lines to a rotating file; null or absent for none. */
  file?: LogFileOptions | null;
  /** Human-readable lines on the console instead of JSON (the CLI sets it on a TTY). */
  pretty?: boolean;
  /** Colours in pretty output. Default: true unless `env.NO_COLOR` is set and not empty. */
  colorize?: boolean;
  /** Also write to the console (`stdout`). Default true; a detached daemon with a log file turns it off. */
  console?: boolean;
  /** The console. Default process.stdout. */
  stdout?: LineSink;
  /** For AUTOLOOP_LOG_LEVEL and NO_COLOR; nothing reads process.env itself. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Time of each line. Default: pino's (Date.now). */
  clock?: Clock;
  /** Fields on every line. Default `{ pid }`. */
  base?: Record<string, unknown>;
  /** A log file error (disk full, permissions). Default: one line on stderr. */
  onFileError?: (error: Error) => void;
}

/** A pino logger (it satisfies the core `Logger` port) that can close its log file. */
export type AutoloopLogger = PinoLogger & {
  /** Flushes and closes the log file; the logger keeps writing to the console. Idempotent. */
  close(): Promise<void>;
};

/**
 * Field paths whose values never reach a log line (pino `redact`). Store
 * URLs and other credentials inside strings are handled by {@link redactSecrets}.
 */
export const REDACT_PATHS: readonly string[] = [
  'token',
  'authorization',
  'password',
  '*.token',
  '*.authorization',
  '*.password',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
];

const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/)([^:@/\s]*):([^@/\s]+)@/gi;
const SECRET_PARAM = /([?&](?:password|passwd|token|access_token|secret|api_key|apikey|key)=)[^&#\s"']+/gi;

/**
 * Text with the password of any URL (`redis://:pw@host`, `postgres://u:pw@h`)
 * and secret query parameters replaced by `***`.
 *
 * @example redactSecrets('redis://app:hunter2@cache:6379/0') // 'redis://app:***@cache:6379/0'
 */
export function redactSecrets(text: string): string {
  if (!text.includes('://') && !text.includes('=')) return text;
  return text.replace(URL_PASSWORD, '$1$2:***@').replace(SECRET_PARAM, '$1***');
}

/**
 * The effective level: `env.AUTOLOOP_LOG_LEVEL` when set, else `level`.
 * Throws a RangeError naming the variable when it is not a level.
 */
export function resolveLogLevel(level: LogLevel, env: Readonly<Record<string, string | undefined>> = {}): LogLevel {
  const fromEnv = env.AUTOLOOP_LOG_LEVEL?.trim();
  if (fromEnv === undefined || fromEnv === '') return level;
  const lower = fromEnv.toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(lower)) return lower as LogLevel;
  throw new RangeError(`AUTOLOOP_LOG_LEVEL: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(fromEnv)}`);
}

/**
 * A pino logger writing JSON lines to a rotating file (rotating-file-stream,
 * on the main thread: nothing to shut down, and nothing a short-lived
 * process can lose by exiting, unlike pino's worker transports) and to the
 * console, pretty-printed (pino-pretty, in-process and synchronous) or as
 * JSON. Secrets are redacted from fields, messages and errors.
 *
 * @example
 * const logger = createLogger({ level: config.log.level, file: config.log.file, pretty: process.stdout.isTTY, env: process.env });
 * logger.info({ loop: 'prices' }, 'started');
 * await logger.close();
 */
export function createLogger(options: CreateLoggerOptions): AutoloopLogger {
  const env = options.env ?? {};
  const level = resolveLogLevel(options.level, env);
  const file = options.file ? openLogFile(options.file, options.onFileError) : null;
  const streams: DestinationStream[] = [];
  if (file) streams.push(file);
  if (options.console ?? true) {
    const out = options.stdout ?? process.stdout;
    const colorize = options.colorize ?? !(env.NO_COLOR !== undefined && env.NO_COLOR !== '');
    streams.push(options.pretty ? prettyStream(out, colorize) : { write: (line: string) => out.write(line) });
  }
  const destination: DestinationStream =
    streams.length === 1
      ? (streams[0] as DestinationStream)
      : pino.multistream(streams.map((stream) => ({ level: 'trace' as const, stream })));
  const { clock } = options;
  const logger = pino(
    {
      level: level satisfies LevelWithSilent,
      base: options.base ?? { pid: process.pid },
      timestamp: clock ? () => `,"time":"${new Date(clock.now()).toISOString()}"` : pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      serializers: { err: (error: Error) => redactDeep(pino.stdSerializers.err(error), 3) },
      formatters: { log: (object) => redactDeep(object, 3) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          const redacted = args.map((arg) => (typeof arg === 'string' ? redactSecrets(arg) : arg));
          return method.apply(this, redacted as Parameters<typeof method>);
        },
      },
    },
    streams.length === 0 ? { write: () => {} } : destination,
  );
  let closing: Promise<void> | null = null;
  return Object.assign(logger, {
    close(): Promise<void> {
      closing ??= file ? closeFile(file) : Promise.resolve();
      return closing;
    },
  });
}

function openLogFile(options: LogFileOptions, onError?: (error: Error) => void): RotatingFileStream {
  // rotating-file-stream times age rotation with its own (unref'd) timers on
  // real time: log files rotate on the wall clock, whatever clock the runtime runs on.
  const stream = createStream(basename(options.path), {
    path: dirname(options.path),
    size: options.size,
    ...(options.interval ? { interval: options.interval } : {}),
    rotate: options.keep,
    ...(options.compress ? { compress: 'gzip' } : {}),
  });
  let reported = false;
  stream.on('error', (error: Error) => {
    if (onError) return onError(error);
    if (reported) return;
    reported = true;
    process.stderr.write(`autoloop: log file ${options.path}: ${error.message}\n`);
  });
  return stream;
}

async function closeFile(stream: RotatingFileStream): Promise<void> {
  if (stream.destroyed || stream.writableFinished) return;
  const finished = once(stream, 'finish').catch(() => undefined);
  stream.end();
  await finished;
}

/** Pretty lines, formatted synchronously and written straight to `out` (no stream pipeline to drain on exit). */
function prettyStream(out: LineSink, colorize: boolean): DestinationStream {
  // Loaded here, on a terminal only: a library logger or a daemon's JSON lines never load pino-pretty.
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  const format = prettyFactory({ colorize, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  return { write: (line: string) => out.write(format(line)) };
}

/** A copy of `value` with secrets in strings redacted, `depth` levels deep; unchanged objects are returned as is. */
function redactDeep(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (depth <= 0 || value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  if (value instanceof Error) return value;
  let copy: Record<string, unknown> | null = null;
  for (const [key, field] of Object.entries(value)) {
    const redacted = redactDeep(field, depth - 1);
    if (redacted !== field) {
      copy ??= { ...(value as Record<string, unknown>) };
      copy[key] = redacted;
    }
  }
  return copy ?? value;
}
