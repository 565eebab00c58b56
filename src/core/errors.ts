/**
 * Errors with a stable `name`, a `cause`, and context added at each layer.
 */

/** Base class: every autoloop error has a stable `name` callers can match on. */
export class AutoloopError extends Error {
  override name = 'AutoloopError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Thrown by a user's act (or produced by a command exiting with code 3) to
 * say: retrying will not help. The item fails at once, without retries.
 */
export class TerminalError extends AutoloopError {
  override name = 'TerminalError';
}

/** An item or step ran longer than its timeout. Retryable. */
export class TimeoutError extends AutoloopError {
  override name = 'TimeoutError';
  constructor(
    readonly timeoutMs: number,
    what: string,
  ) {
    super(`${what}: timed out after ${timeoutMs} ms`);
  }
}

/** A command act/observe failed: exit code, signal, or unreadable output. */
export class CommandError extends AutoloopError {
  override name = 'CommandError';
  constructor(
    message: string,
    readonly details: { exitCode: number | null; signal: string | null; stderrTail: string },
  ) {
    super(message);
  }
}

/** The work was aborted because the runtime is shutting down. */
export class ShutdownError extends AutoloopError {
  override name = 'ShutdownError';
  constructor(message = 'aborted: runtime is shutting down') {
    super(message);
  }
}

/** The error a failed item or cycle is recorded with: plain data, JSON-safe. */
export interface ErrorInfo {
  name: string;
  message: string;
  /** Last lines a command wrote to stderr, when the failure came from one. */
  stderrTail?: string;
  exitCode?: number | null;
}

export function toErrorInfo(error: unknown): ErrorInfo {
  // A TerminalError from a command (exit 3) carries the command's details in its cause.
  if (error instanceof Error && !(error instanceof CommandError) && error.cause instanceof CommandError) {
    const { stderrTail, exitCode } = error.cause.details;
    return { name: error.name, message: error.message, stderrTail, exitCode };
  }
  if (error instanceof CommandError) {
    return {
      name: error.name,
      message: error.message,
      stderrTail: error.details.stderrTail,
      exitCode: error.details.exitCode,
    };
  }
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

/**
 * Thrown by an act when a dependency answered "too many requests": the
 * dependency's rate-limit bucket pauses for `retryAfterMs` (every loop and,
 * with a shared bucket, every process), and the attempt is retried per policy.
 *
 * @example
 * // parseRetryAfter returns the epoch ms to wait until; the error carries a duration.
 * const until = parseRetryAfter(res.headers.get('retry-after'), now);
 * if (res.status === 429) throw new RateLimitedError('llm: 429', until === undefined ? 1000 : until - now);
 */
export class RateLimitedError extends AutoloopError {
  override name = 'RateLimitedError';
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}
