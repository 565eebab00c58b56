import { type Logger, silentLogger } from '../core/logger.ts';
import { fullJitterDelay } from '../policies/backoff.ts';
import { parseRetryAfter } from '../policies/parse-retry-after.ts';
import { type Clock, timeoutSignal } from '../time/clock.ts';

/** One webhook (`webhooks[n]` in the config), resolved. */
export interface WebhookTarget {
  /** http(s) URL the events are POSTed to. Never logged whole: it may carry a secret path (Slack, Discord). */
  readonly url: string;
  /** Event names it receives, e.g. `alert.firing`, `alert.resolved`. */
  readonly events: readonly string[];
  /** Extra request headers (an `Authorization`, say). Never logged. */
  readonly headers: Readonly<Record<string, string>>;
  /** Per attempt. */
  readonly timeoutMs: number;
  /** Total attempts per event, including the first. */
  readonly attempts: number;
}

export interface WebhookDispatcherOptions {
  targets: readonly WebhookTarget[];
  clock: Clock;
  logger?: Logger;
  /** Randomness in [0, 1) for backoff jitter. Default Math.random. */
  random?: () => number;
  /** Events waiting per target; when full, the oldest is dropped. Default 1000. */
  queueSize?: number;
  /** Base of the exponential backoff between attempts. Default 1 s. */
  backoffMs?: number;
  /** Cap on one delay (also on a `Retry-After`). Default 30 s. */
  maxBackoffMs?: number;
  /** Default global fetch. */
  fetch?: typeof globalThis.fetch;
}

/** Counters over the dispatcher's life (all targets). */
export interface WebhookStats {
  /** Events waiting now, including any being sent. */
  queued: number;
  delivered: number;
  /** Gave up after the last attempt, or a 4xx other than 408/429. */
  failed: number;
  /** Pushed out of a full queue. */
  dropped: number;
  /** Attempts that failed and were retried. */
  retries: number;
}

/** The JSON body of every POST. */
export interface WebhookBody {
  event: string;
  /** When it was sent (first attempt), ISO 8601 on the runtime clock. */
  sentAt: string;
  data: unknown;
}

interface Delivery {
  readonly event: string;
  readonly body: string;
}

interface TargetQueue {
  readonly target: WebhookTarget;
  readonly label: string;
  /** Waiting, oldest first; the one being sent is not among them. */
  readonly items: Delivery[];
  sending: Delivery | null;
  wake: (() => void) | null;
}

/** A webhook answered with an HTTP error status. */
export class WebhookStatusError extends Error {
  override name = 'WebhookStatusError';
  constructor(
    readonly status: number,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`HTTP ${status}`);
  }
}

/**
 * Delivers events to webhooks without ever blocking the caller: `send`
 * only appends to a bounded in-memory queue per target (dropping the
 * oldest event when full, and counting it), and `run` drains each queue in
 * order, one POST at a time per target, with a timeout per attempt and
 * full-jitter exponential backoff between attempts, all on the Clock.
 * Network errors, timeouts, 408, 429 and 5xx are retried; other 4xx are not.
 *
 * @example
 * const webhooks = new WebhookDispatcher({ targets: config.webhooks, clock, logger });
 * void webhooks.run(signal);
 * webhooks.send('alert.firing', payload); // returns at once
 */
export class WebhookDispatcher {
  readonly #o: Required<Omit<WebhookDispatcherOptions, 'logger'>> & { logger: Logger };
  readonly #queues: TargetQueue[];
  readonly #stats: WebhookStats = { queued: 0, delivered: 0, failed: 0, dropped: 0, retries: 0 };

  constructor(options: WebhookDispatcherOptions) {
    const queueSize = options.queueSize ?? 1000;
    if (!(Number.isInteger(queueSize) && queueSize >= 1)) {
      throw new RangeError(`Expected \`queueSize\` to be an integer >= 1, got \`${queueSize}\``);
    }
    this.#o = {
      targets: options.targets,
      clock: options.clock,
      logger: options.logger ?? silentLogger,
      random: options.random ?? Math.random,
      queueSize,
      backoffMs: options.backoffMs ?? 1000,
      maxBackoffMs: options.maxBackoffMs ?? 30_000,
      fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    };
    this.#queues = options.targets.map((target, index) => ({
      target,
      label: `webhooks[${index}] ${safeOrigin(target.url)}`,
      items: [],
      sending: null,
      wake: null,
    }));
  }

  get stats(): Readonly<WebhookStats> {
    const queued = this.#queues.reduce((n, q) => n + q.items.length + (q.sending ? 1 : 0), 0);
    return { ...this.#stats, queued };
  }

  /** Queues `data` for every target that takes `event`. Synchronous, O(1) per target; never throws. */
  send(event: string, data: unknown): void {
    let body: string | undefined;
    for (const queue of this.#queues) {
      if (!queue.target.events.includes(event)) continue;
      body ??= safeStringify({ event, sentAt: new Date(this.#o.clock.now()).toISOString(), data });
      if (body === undefined) return;
      if (queue.items.length >= this.#o.queueSize) {
        queue.items.shift();
        this.#stats.dropped++;
        if (this.#stats.dropped === 1 || this.#stats.dropped % 100 === 0) {
          this.#o.logger.warn(
            { target: queue.label, dropped: this.#stats.dropped },
            'webhook queue full: dropped oldest',
          );
        }
      }
      queue.items.push({ event, body });
      queue.wake?.();
    }
  }

  /**
   * Delivers queued and future events until `signal` aborts; then an
   * in-flight request is aborted and events still queued stay queued
   * (in memory only). Never rejects.
   */
  async run(signal: AbortSignal): Promise<void> {
    await Promise.all(this.#queues.map((queue) => this.#drain(queue, signal)));
  }

  async #drain(queue: TargetQueue, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const next = queue.items.shift();
      if (!next) {
        await waitForWork(queue, signal);
        continue;
      }
      queue.sending = next;
      const done = await this.#deliver(queue, next, signal);
      queue.sending = null;
      if (!done) queue.items.unshift(next); // aborted: it stays first in line
    }
  }

  /** All attempts for one event. False when `signal` aborted it. */
  async #deliver(queue: TargetQueue, delivery: Delivery, signal: AbortSignal): Promise<boolean> {
    const { clock, logger } = this.#o;
    const { target, label } = queue;
    for (let attempt = 1; ; attempt++) {
      let error: unknown;
      try {
        await this.#post(target, delivery.body, signal);
        this.#stats.delivered++;
        logger.debug({ target: label, event: delivery.event, attempt }, 'webhook delivered');
        return true;
      } catch (caught) {
        if (signal.aborted) return false;
        error = caught;
      }
      const status = error instanceof WebhookStatusError ? error.status : undefined;
      const permanent = status !== undefined && status < 500 && status !== 408 && status !== 429;
      const fields = { target: label, event: delivery.event, attempt, error: describe(error) };
      if (permanent || attempt >= target.attempts) {
        this.#stats.failed++;
        logger.warn(fields, permanent ? 'webhook refused the event' : 'webhook failed; giving up');
        return true;
      }
      const jitter = fullJitterDelay(attempt, this.#o.backoffMs, this.#o.maxBackoffMs, this.#o.random);
      const asked = error instanceof WebhookStatusError ? error.retryAfterMs : undefined;
      const delayMs = asked === undefined ? jitter : Math.min(this.#o.maxBackoffMs, Math.max(jitter, asked));
      this.#stats.retries++;
      logger.info({ ...fields, delayMs }, 'webhook failed; retrying');
      try {
        await clock.sleep(delayMs, signal);
      } catch {
        return false;
      }
    }
  }

  async #post(target: WebhookTarget, body: string, signal: AbortSignal): Promise<void> {
    const { clock } = this.#o;
    const timeout = timeoutSignal(
      clock,
      target.timeoutMs,
      signal,
      () => new DOMException(`timed out after ${target.timeoutMs} ms`, 'TimeoutError'),
    );
    try {
      const response = await this.#o.fetch(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'autoloop', ...target.headers },
        body,
        signal: timeout.signal,
        redirect: 'error',
      });
      // Read the body so the connection goes back to the pool.
      await response.arrayBuffer().catch(() => undefined);
      if (!response.ok) {
        const at = parseRetryAfter(response.headers.get('retry-after'), clock.now());
        throw new WebhookStatusError(response.status, at === undefined ? undefined : at - clock.now());
      }
    } catch (error) {
      // A timeout surfaces from fetch as an AbortError with our reason: report the reason.
      throw timeout.signal.aborted && !signal.aborted ? timeout.signal.reason : error;
    } finally {
      timeout.dispose();
    }
  }
}

function waitForWork(queue: TargetQueue, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      queue.wake = null;
      signal.removeEventListener('abort', done);
      resolve();
    };
    queue.wake = done;
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Scheme and host only: the path and query of a webhook URL are often its secret. */
function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid url)';
  }
}

function safeStringify(value: WebhookBody): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
