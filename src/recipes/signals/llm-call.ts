/**
 * What an LLM stage needs of its calls' errors without the SDK: the
 * unavailability error, the outcome reported per call and the key scrubber.
 * The mapping of the SDK's own errors (llm-errors.ts) loads with the SDK, at
 * a stage's first call.
 */
import { AutoloopError, RateLimitedError, TerminalError, TimeoutError } from '../../core/errors.ts';
import { LlmOutputError } from './llm-output.ts';

/**
 * The server could not serve the call (5xx, 408, 409, connection refused or
 * reset): retryable, and an outage as far as the breaker is concerned.
 */
export class LlmUnavailableError extends AutoloopError {
  override name = 'LlmUnavailableError';
  constructor(
    message: string,
    /** The HTTP status, or undefined when no answer came (connection error). */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** How one call ended, as reported to `onCallEnd`. */
export type LlmCallOutcome =
  | 'ok'
  | 'invalid-output'
  | 'rate-limited'
  | 'unavailable'
  | 'timeout'
  | 'refused'
  | 'aborted';

/** What the mapping needs to know about the stage that called. */
export interface LlmCallSite {
  /** `llm stage "score" (model m at <base URL>)`, already scrubbed. */
  readonly where: string;
  readonly timeoutMs: number;
  /** The pause for a 429 without a usable Retry-After. */
  readonly defaultRetryAfterMs: number;
  /** Removes the key from text the server or the network stack produced. */
  readonly scrub: (text: string) => string;
}

/** The outcome to report for a mapped error. */
export function callOutcome(error: unknown, itemSignal: AbortSignal): LlmCallOutcome {
  if (itemSignal.aborted) return 'aborted';
  if (error instanceof LlmOutputError) return 'invalid-output';
  if (error instanceof RateLimitedError) return 'rate-limited';
  if (error instanceof TimeoutError) return 'timeout';
  if (error instanceof TerminalError) return 'refused';
  return 'unavailable';
}

/**
 * Removes the API key from text: the key itself, key-like `sk-...` tokens
 * (servers echo keys masked, `sk-ab***yz`), and URL passwords.
 */
export function keyScrubber(apiKey: string | undefined): (text: string) => string {
  return (text) => {
    let out = text.replace(/\bsk-[\w*-]{3,}/g, 'sk-***');
    if (apiKey && apiKey.length >= 4) out = out.split(apiKey).join('***');
    return out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@:]*:[^\s/@]*@/gi, '$1***@');
  };
}
