/**
 * What an LLM call's failure means to the runtime: the SDK's errors (HTTP
 * status, connection error, abort) mapped onto the errors the retry policy,
 * the breaker and the rate limit understand, with messages that say how to
 * fix what can be fixed and never carry the API key.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { RateLimitedError, TerminalError, TimeoutError } from '../../core/errors.ts';
import { parseRetryAfter } from '../../policies/parse-retry-after.ts';
import { abortReason, type Clock } from '../../time/clock.ts';
import { type LlmCallSite, LlmUnavailableError } from './llm-call.ts';
import { LlmOutputError } from './llm-output.ts';

export { callOutcome, keyScrubber, type LlmCallOutcome, type LlmCallSite, LlmUnavailableError } from './llm-call.ts';

/**
 * The error the runtime should see for what a call threw. An aborted item
 * signal wins (shutdown, lease loss, the item's own timeout: its reason is
 * passed on as is), then the call's own timeout, then the SDK's error.
 */
export function toRuntimeError(
  error: unknown,
  site: LlmCallSite,
  signals: { readonly item: AbortSignal; readonly call: AbortSignal },
  clock: Clock,
): unknown {
  if (signals.item.aborted) return abortReason(signals.item);
  if (signals.call.aborted) return abortReason(signals.call);
  if (error instanceof LlmOutputError || error instanceof LlmUnavailableError || error instanceof TerminalError) {
    return error; // already mapped (thrown while reading the answer)
  }
  if (error instanceof APIConnectionTimeoutError) return new TimeoutError(site.timeoutMs, site.where);
  if (error instanceof APIError && typeof error.status === 'number') return fromStatus(error, site, clock);
  if (error instanceof APIConnectionError) {
    return new LlmUnavailableError(
      `${site.where}: could not reach the server (${site.scrub(describeCause(error.cause))}); is it running, and is the base URL right?`,
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new LlmUnavailableError(`${site.where}: the call failed: ${site.scrub(message)}`);
}

/**
 * Why a 200 answer is not a chat completion, or undefined when it is one:
 * an error object in the body (OpenRouter reports some upstream failures
 * so) is a retryable unavailability; anything else without `choices` (an
 * HTML page, a proxy's login form) means the base URL points elsewhere.
 */
export function notACompletion(body: unknown, site: LlmCallSite): Error | undefined {
  const object = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : undefined;
  if (object && Array.isArray(object.choices)) return undefined;
  const error = object?.error as { message?: unknown; code?: unknown } | undefined;
  if (error && typeof error === 'object') {
    const message = typeof error.message === 'string' ? site.scrub(error.message).slice(0, 200) : 'no message';
    const code = error.code === undefined ? '' : ` (code ${String(error.code)})`;
    return new LlmUnavailableError(
      `${site.where}: the server answered 200 with an error${code}: ${message}; retrying per policy`,
    );
  }
  const got =
    typeof body === 'string'
      ? `text ${JSON.stringify(site.scrub(body.slice(0, 60)))}`
      : object
        ? `an object with keys ${Object.keys(object).slice(0, 8).join(', ') || '(none)'}`
        : String(body);
  return new TerminalError(
    `${site.where}: expected an OpenAI chat completion (with choices), got ${got}; check that the base URL is the API's (usually ending in /v1)`,
  );
}

function fromStatus(error: APIError, site: LlmCallSite, clock: Clock): Error {
  const status = error.status as number;
  const said = serverSaid(error, site.scrub);
  const { where } = site;
  if (status === 429) {
    const { ms, header } = retryAfterOf(error.headers, clock, site.defaultRetryAfterMs);
    return new RateLimitedError(`${where}: rate limited (429${said}); retry after ${ms} ms (${header})`, ms);
  }
  if (status >= 500 || status === 408 || status === 409) {
    return new LlmUnavailableError(`${where}: the server failed (${status}${said}); retrying per policy`, status);
  }
  if (status === 401) {
    return new TerminalError(
      `${where}: the API key was refused (401${said}); set LLM_API_KEY (or OPENROUTER_API_KEY) to a valid key for this server`,
    );
  }
  if (status === 403) {
    return new TerminalError(
      `${where}: the API key may not use this model or endpoint (403${said}); check the key's permissions and credit, or choose another model`,
    );
  }
  if (status === 404) {
    return new TerminalError(
      `${where}: not found (404${said}); check the model name (GET <base URL>/models lists them) and that the base URL ends where the API does (usually /v1, or /api/v1 on OpenRouter)`,
    );
  }
  return new TerminalError(
    `${where}: the server refused the request (${status}${said}); check the model's parameters (temperature, maxTokens), and set responseFormat: 'none' if this server does not support response_format`,
  );
}

/** `: <the server's message>`, scrubbed and shortened; empty when it said nothing. */
function serverSaid(error: APIError, scrub: (text: string) => string): string {
  const body = error.error as { message?: unknown } | undefined;
  const message = typeof body?.message === 'string' ? body.message : '';
  if (!message) return '';
  const text = scrub(message);
  return `: ${text.length > 200 ? `${text.slice(0, 200)}...` : text}`;
}

/** The delay a 429 asks for: `retry-after-ms` (OpenAI's), else `Retry-After` (seconds or HTTP-date), else the default. */
function retryAfterOf(headers: Headers | undefined, clock: Clock, defaultMs: number): { ms: number; header: string } {
  const msHeader = headers?.get('retry-after-ms');
  const ms = msHeader === null || msHeader === undefined ? Number.NaN : Number(msHeader);
  if (Number.isFinite(ms) && ms >= 0) return { ms: Math.ceil(ms), header: `retry-after-ms: ${msHeader}` };
  const header = headers?.get('retry-after');
  const now = clock.now();
  const until = parseRetryAfter(header, now);
  if (until !== undefined) return { ms: until - now, header: `Retry-After: ${header}` };
  return {
    ms: defaultMs,
    header: header ? `unreadable Retry-After "${header}", default delay` : 'no Retry-After, default delay',
  };
}

/** `ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:4000` from undici's `fetch failed` and its cause chain. */
function describeCause(cause: unknown): string {
  const parts: string[] = [];
  let current: unknown = cause;
  for (let depth = 0; current instanceof Error && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    parts.push(typeof code === 'string' ? `${code}: ${current.message}` : current.message);
    current = current.cause;
  }
  return parts.length > 0 ? parts.join(' <- ') : 'connection error';
}
