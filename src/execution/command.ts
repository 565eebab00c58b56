import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { CommandError, TerminalError, TimeoutError } from '../core/errors.ts';
import { abortReason, type Clock, type TimerHandle } from '../time/clock.ts';

/**
 * Runs a shell command as a loop step: JSON in on stdin, JSON out on stdout.
 *
 * The protocol a command follows:
 * - stdin receives one line, `JSON.stringify(input)`, then EOF. A command may
 *   ignore it.
 * - exit 0: stdout is the result. Empty stdout means `null`; otherwise it
 *   must be JSON. A command may log text first and print its JSON result as
 *   the LAST non-empty line. Logs belong on stderr, though: the last ~4 KB of
 *   stderr is kept and reported when the command fails.
 * - exit 3: "do not retry". The promise rejects with a {@link TerminalError}
 *   whose message ends with the last stderr line and whose `cause` is the
 *   {@link CommandError} carrying the exit code and stderr tail. (A
 *   TerminalError, not a flagged CommandError, because that is the one type
 *   the runtime checks to skip retries, for functions and commands alike.)
 * - any other exit code, or death by a signal: {@link CommandError}, retried
 *   per the loop's policy.
 *
 * The command runs in its own process group, so a timeout or an abort kills
 * everything it started (SIGTERM to the group, SIGKILL after `killGraceMs`).
 * The group is not killed if autoloop itself dies abruptly; the command then
 * outlives it, which is also what lets a shutdown drain it gracefully.
 */
export interface RunCommandOptions {
  /** Passed to `/bin/sh -c`. */
  command: string;
  /** Written to stdin as one JSON line. `undefined` is sent as `null`. */
  input?: unknown;
  /** Kill the command after this long and reject with a {@link TimeoutError}. */
  timeoutMs: number;
  /** Kill the command when it aborts and reject with `signal.reason`. */
  signal?: AbortSignal;
  clock: Clock;
  cwd?: string;
  /** The child's whole environment. Default: this process's environment. */
  env?: Record<string, string>;
  /** Between SIGTERM and SIGKILL. Default 2000. */
  killGraceMs?: number;
  /** Names the step in errors, e.g. `act BTC/USD`. Default: the command. */
  what?: string;
  /** stdout past this size kills the command. Default 8 MiB. */
  maxOutputBytes?: number;
}

const DEFAULT_KILL_GRACE_MS = 2_000;
const DEFAULT_MAX_OUTPUT_BYTES = 8 * 1024 * 1024;
const STDERR_TAIL_BYTES = 4_096;
/** Exit code by which a command says "retrying will not help". */
export const TERMINAL_EXIT_CODE = 3;

/**
 * Runs `command` and resolves with the JSON value it printed.
 *
 * @example
 * const result = await runCommand({ command: './bin/fetch', input: item, timeoutMs: 60_000, clock, signal });
 */
export function runCommand(options: RunCommandOptions): Promise<unknown> {
  if (options.signal?.aborted) return Promise.reject(abortReason(options.signal));
  return new Promise((resolve, reject) => {
    new CommandRun(options, resolve, reject).start();
  });
}

/** Shortens a command for messages: long inline scripts would drown the error. */
function label(command: string): string {
  return `\`${truncate(command.replace(/\s+/g, ' ').trim(), 80)}\``;
}

/** Keeps only the last `limit` bytes written to it. */
class TailBuffer {
  #chunks: Buffer[] = [];
  #bytes = 0;
  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    while (this.#chunks.length > 1 && this.#bytes - (this.#chunks[0] as Buffer).length >= this.limit) {
      this.#bytes -= (this.#chunks.shift() as Buffer).length;
    }
  }

  toString(): string {
    const all = Buffer.concat(this.#chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

/**
 * One run of a command, from spawn to a settled promise.
 *
 * States: running -> (stopping: SIGTERM sent, waiting for the group to go;
 * after the grace period SIGKILL) -> settled. `settle` runs once and removes
 * every timer and listener.
 */
class CommandRun {
  readonly #options: RunCommandOptions;
  readonly #resolve: (value: unknown) => void;
  readonly #reject: (error: unknown) => void;
  #child: ChildProcessWithoutNullStreams | undefined;
  #stdout: Buffer[] = [];
  #stdoutBytes = 0;
  #stderr = new TailBuffer(STDERR_TAIL_BYTES);
  #timeout: TimerHandle | undefined;
  #grace: TimerHandle | undefined;
  #stopReason: unknown;
  #stopping = false;
  #killed = false;
  #exited = false;
  #settled = false;

  constructor(options: RunCommandOptions, resolve: (value: unknown) => void, reject: (error: unknown) => void) {
    this.#options = options;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  start(): void {
    const { command, cwd, env, clock, timeoutMs, signal } = this.#options;
    const child = spawn('/bin/sh', ['-c', command], { cwd, env, detached: true, stdio: 'pipe' });
    this.#child = child;
    child.on('error', (error) => this.#onSpawnError(error));
    child.on('exit', () => this.#onExit());
    child.on('close', (code, sig) => this.#settle(() => this.#interpret(code, sig)));
    child.stdout.on('data', (chunk: Buffer) => this.#onStdout(chunk));
    child.stderr.on('data', (chunk: Buffer) => this.#stderr.push(chunk));
    // A command that does not read its input closes the pipe early: EPIPE is
    // expected then and says nothing about the command's success.
    child.stdin.on('error', () => {});
    child.stdin.end(`${JSON.stringify(this.#options.input ?? null)}\n`);
    this.#timeout = clock.setTimer(timeoutMs, () => this.#stop(new TimeoutError(timeoutMs, this.#what())));
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  #what(): string {
    return this.#options.what ?? label(this.#options.command);
  }

  readonly #onAbort = (): void => {
    this.#stop(abortReason(this.#options.signal as AbortSignal));
  };

  #onSpawnError(error: Error): void {
    const message = `${label(this.#options.command)} could not be started: ${error.message}`;
    const failure = new CommandError(message, { exitCode: null, signal: null, stderrTail: this.#stderr.toString() });
    this.#settle(() => {
      throw failure;
    });
  }

  #onStdout(chunk: Buffer): void {
    this.#stdoutBytes += chunk.length;
    if (this.#stdoutBytes <= this.#maxOutput()) {
      this.#stdout.push(chunk);
      return;
    }
    const message = `${label(this.#options.command)} printed more than ${this.#maxOutput()} bytes on stdout; write large results to a file and print its path`;
    this.#stop(new CommandError(message, { exitCode: null, signal: null, stderrTail: this.#stderr.toString() }));
  }

  #maxOutput(): number {
    return this.#options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  }

  #onExit(): void {
    this.#exited = true;
    // After SIGKILL the group is certainly dead; a process that escaped the
    // group (setsid) may still hold our pipes, so do not wait for 'close'.
    if (this.#killed) this.#settle(() => this.#fail());
  }

  /** Starts killing the group; the promise settles once it is gone. */
  #stop(reason: unknown): void {
    if (this.#stopping || this.#settled) return;
    this.#stopping = true;
    this.#stopReason = reason;
    this.#killGroup('SIGTERM');
    this.#grace = this.#options.clock.setTimer(this.#options.killGraceMs ?? DEFAULT_KILL_GRACE_MS, () => {
      this.#killGroup('SIGKILL');
      this.#killed = true;
      if (this.#exited) this.#settle(() => this.#fail());
    });
  }

  #fail(): never {
    throw this.#stopReason;
  }

  #killGroup(sig: NodeJS.Signals): void {
    const pid = this.#child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // ESRCH: the whole group has already exited.
    }
  }

  /** Settles once with what `outcome` returns or throws, and cleans up. */
  #settle(outcome: () => unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#timeout?.cancel();
    this.#grace?.cancel();
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    this.#child?.stdout.destroy();
    this.#child?.stderr.destroy();
    try {
      this.#resolve(outcome());
    } catch (error) {
      this.#reject(error);
    }
  }

  #interpret(code: number | null, sig: NodeJS.Signals | null): unknown {
    if (this.#stopping) this.#fail();
    const command = label(this.#options.command);
    const details = { exitCode: code, signal: sig, stderrTail: this.#stderr.toString() };
    if (sig !== null) throw new CommandError(`${command} was killed by signal ${sig}`, details);
    if (code === TERMINAL_EXIT_CODE) {
      const cause = new CommandError(`${command} exited with code ${code} (do not retry)`, details);
      const reason = lastNonEmptyLine(details.stderrTail);
      throw new TerminalError(reason ? `${cause.message}: ${truncate(reason, 200)}` : cause.message, { cause });
    }
    if (code !== 0) throw new CommandError(`${command} exited with code ${code}`, details);
    return parseOutput(Buffer.concat(this.#stdout).toString('utf8'), command, details);
  }
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

/**
 * stdout as JSON: the whole of it, or else its last non-empty line (so a
 * command may log progress and then print its result).
 */
function parseOutput(stdout: string, command: string, details: CommandError['details']): unknown {
  const text = stdout.trim();
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    const last = lastNonEmptyLine(text);
    try {
      if (last !== undefined) return JSON.parse(last);
    } catch {
      // Fall through to the error below, which shows the start of the output.
    }
  }
  throw new CommandError(
    `${command} printed output that is not JSON: ${truncate(text, 200)}; print one JSON value (or JSON as the last line) and log to stderr`,
    details,
  );
}

function lastNonEmptyLine(text: string): string | undefined {
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = (lines[i] as string).trim();
    if (line !== '') return line;
  }
  return undefined;
}
