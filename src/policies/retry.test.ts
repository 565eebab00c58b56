import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShutdownError, TerminalError } from '../core/errors.ts';
import { RetryRequestedError, retryAfter } from '../core/outcome.ts';
import { VirtualClock } from '../time/virtual-clock.ts';
import { type RetryNotice, type RetryOptions, retry } from './retry.ts';

/** An operation that fails `failures` times, then returns `value`; records when each attempt started. */
function flaky<T>(clock: VirtualClock, failures: number, value: T) {
  const startedAt: number[] = [];
  const operation = (attempt: number) => {
    startedAt.push(clock.monotonic());
    if (attempt <= failures) throw new Error(`attempt ${attempt} failed`);
    return Promise.resolve(value);
  };
  return { operation, startedAt };
}

function options(clock: VirtualClock, overrides: Partial<RetryOptions> = {}) {
  const notices: RetryNotice[] = [];
  const opts: RetryOptions = {
    attempts: 5,
    backoff: { initialMs: 1_000, maxMs: 30_000 },
    clock,
    random: () => 0.5,
    onRetry: (notice) => notices.push(notice),
    ...overrides,
  };
  return { opts, notices };
}

/** Settles `promise` into a value to assert on, without an unhandled rejection while time moves. */
function settled<T>(promise: Promise<T>) {
  const state: { done: boolean; value?: T; error?: unknown } = { done: false };
  promise.then(
    (value) => Object.assign(state, { done: true, value }),
    (error: unknown) => Object.assign(state, { done: true, error }),
  );
  return state;
}

describe('retry', () => {
  it('waits the backoff on the clock between attempts: random 0.5 of 1 s, then of 2 s', async () => {
    const clock = new VirtualClock();
    const { operation, startedAt } = flaky(clock, 2, 'ok');
    const { opts, notices } = options(clock);
    const result = settled(retry(operation, opts));
    await clock.advance(499);
    assert.equal(startedAt.length, 1, 'the second attempt waits the whole 500 ms');
    await clock.advance(1);
    assert.deepEqual(startedAt, [0, 500]);
    await clock.advance(1_000);
    assert.deepEqual(startedAt, [0, 500, 1_500]);
    assert.deepEqual(result, { done: true, value: 'ok' });
    assert.deepEqual(
      notices.map(({ attempt, delayMs, error }) => ({ attempt, delayMs, message: (error as Error).message })),
      [
        { attempt: 1, delayMs: 500, message: 'attempt 1 failed' },
        { attempt: 2, delayMs: 1_000, message: 'attempt 2 failed' },
      ],
    );
    assert.equal(clock.pendingTimers, 0);
  });

  it('without jitter the waits are the schedule itself (100 ms x2, capped)', async () => {
    const clock = new VirtualClock();
    const { operation, startedAt } = flaky(clock, 4, 'up');
    const { opts } = options(clock, { backoff: { initialMs: 100, maxMs: 300, jitter: 'none' }, random: undefined });
    const result = settled(retry(operation, opts));
    await clock.advance(10_000);
    assert.deepEqual(startedAt, [0, 100, 300, 600, 900]);
    assert.equal(result.value, 'up');
  });

  it('rejects with the last error once the attempts are used up, and tries no more', async () => {
    const clock = new VirtualClock();
    const { operation, startedAt } = flaky(clock, Number.POSITIVE_INFINITY, 'never');
    const { opts, notices } = options(clock, { attempts: 3 });
    const result = settled(retry(operation, opts));
    await clock.advance(60_000);
    assert.equal(startedAt.length, 3);
    assert.equal(notices.length, 2, 'two retries for three attempts');
    assert.equal((result.error as Error).message, 'attempt 3 failed');
    assert.equal(clock.pendingTimers, 0);
  });

  it('one attempt means no retry', async () => {
    const clock = new VirtualClock();
    const { operation, startedAt } = flaky(clock, 1, 'x');
    const { opts, notices } = options(clock, { attempts: 1 });
    await assert.rejects(retry(operation, opts), /attempt 1 failed/);
    assert.equal(startedAt.length, 1);
    assert.equal(notices.length, 0);
  });

  it('Infinity attempts retries until it succeeds', async () => {
    const clock = new VirtualClock();
    const { operation, startedAt } = flaky(clock, 20, 'finally');
    const { opts } = options(clock, { attempts: Number.POSITIVE_INFINITY, backoff: { initialMs: 10, maxMs: 10 } });
    const result = settled(retry(operation, opts));
    await clock.advance(1_000);
    assert.equal(startedAt.length, 21);
    assert.equal(result.value, 'finally');
  });

  it('a TerminalError is not retried', async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const terminal = new TerminalError('bad input');
    const { opts, notices } = options(clock);
    await assert.rejects(
      retry(() => {
        calls++;
        throw terminal;
      }, opts),
      (error) => error === terminal,
    );
    assert.equal(calls, 1);
    assert.equal(notices.length, 0);
    assert.equal(clock.pendingTimers, 0);
  });

  it('isFinal replaces the default: here a TerminalError is retried and a marked error is not', async () => {
    const clock = new VirtualClock();
    const errors = [new TerminalError('retry me anyway'), new Error('stop')];
    let calls = 0;
    const { opts } = options(clock, { isFinal: (error) => (error as Error).message === 'stop' });
    const result = settled(
      retry(() => {
        throw errors[calls++];
      }, opts),
    );
    await clock.advance(60_000);
    assert.equal(calls, 2);
    assert.equal(result.error, errors[1]);
  });

  it('an abort during a wait rejects at once with the signal reason, its timer cleared', async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const { operation, startedAt } = flaky(clock, Number.POSITIVE_INFINITY, 'never');
    const { opts } = options(clock, { signal: controller.signal, backoff: { initialMs: 60_000, maxMs: 60_000 } });
    const result = settled(retry(operation, opts));
    await clock.advance(1_000);
    assert.equal(result.done, false, 'waiting 30 s before the second attempt');
    const reason = new ShutdownError();
    controller.abort(reason);
    await clock.flush();
    assert.equal(result.error, reason, 'no time had to pass');
    assert.equal(clock.pendingTimers, 0);
    await clock.advance(120_000);
    assert.equal(startedAt.length, 1, 'no attempt after the abort');
  });

  it('an attempt that fails after the signal aborted is not retried: its own error is the answer', async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const { opts, notices } = options(clock, { signal: controller.signal });
    const failure = new Error('cancelled mid-call');
    await assert.rejects(
      retry(() => {
        controller.abort();
        throw failure;
      }, opts),
      (error) => error === failure,
    );
    assert.equal(notices.length, 0);
  });

  it('rejects bad attempts with the one template, before any attempt', async () => {
    const clock = new VirtualClock();
    let calls = 0;
    for (const attempts of [0, 1.5, Number.NaN]) {
      const { opts } = options(clock, { attempts });
      await assert.rejects(
        retry(() => calls++, opts),
        new RegExp(`^RangeError: Expected \`attempts\` to be an integer >= 1, got \`${attempts}\` \\(number\\)$`),
      );
    }
    assert.equal(calls, 0);
  });
});

describe('retry: an attempt that returns retryAfter', () => {
  it('waits exactly the asked delay instead of the backoff, and reports it as a RetryRequestedError', async () => {
    const clock = new VirtualClock();
    const startedAt: number[] = [];
    const { opts, notices } = options(clock);
    const result = settled(
      retry((attempt) => {
        startedAt.push(clock.monotonic());
        return attempt === 1 ? retryAfter('7s', 'not ready') : 'ready';
      }, opts),
    );
    await clock.advance(6_999);
    assert.equal(startedAt.length, 1);
    await clock.advance(1);
    assert.deepEqual(startedAt, [0, 7_000]);
    assert.equal(result.value, 'ready');
    const [notice] = notices;
    assert.equal(notice?.delayMs, 7_000);
    assert.ok(notice?.error instanceof RetryRequestedError);
    assert.equal(notice.error.message, 'asked for a retry after 7000 ms (not ready)');
  });

  it('with no attempt left, rejects with a RetryRequestedError saying so (never resolves with the outcome)', async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const { opts } = options(clock, { attempts: 2 });
    const result = settled(
      retry(() => {
        calls++;
        return retryAfter(250);
      }, opts),
    );
    await clock.advance(10_000);
    assert.equal(calls, 2);
    assert.ok(result.error instanceof RetryRequestedError);
    assert.equal(result.error.message, 'asked for a retry after 250 ms, but no attempt is left (2 used)');
    assert.equal(result.error.afterMs, 250);
  });

  it('a plain object that looks like an outcome is a result', async () => {
    const clock = new VirtualClock();
    const { opts, notices } = options(clock);
    const lookalike = { kind: 'retry', afterMs: 5 };
    assert.equal(await retry(() => lookalike, opts), lookalike);
    assert.equal(notices.length, 0);
  });
});
