import { TerminalError } from '../core/errors.ts';

/**
 * Thrown by `CircuitBreaker.execute` when the breaker rejects a call; `fn`
 * was not called. `breaker` names the dependency, `state` says why ('open',
 * or 'half-open' with every trial slot taken) and `retryAfterMs` when to
 * ask again.
 *
 * @example
 * // circuit breaker "llm_service" is open: it will half-open in 58500 ms (at 2026-01-01T00:01:00.000Z)
 */
export class BreakerOpenError extends TerminalError {
  override name = 'BreakerOpenError';
  constructor(
    readonly breaker: string,
    readonly state: 'open' | 'half-open',
    readonly retryAfterMs: number,
    nowMs: number,
  ) {
    const when = `in ${Math.ceil(retryAfterMs)} ms (at ${new Date(nowMs + retryAfterMs).toISOString()})`;
    super(
      state === 'open'
        ? `circuit breaker "${breaker}" is open: it will half-open ${when}`
        : `circuit breaker "${breaker}" is half-open and all its trial calls are taken: retry ${when}`,
    );
  }
}
