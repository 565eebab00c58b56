import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../time/virtual-clock.ts';
import { BreakerOpenError } from './breaker-open-error.ts';
import { type BreakerPermit, type BreakerStateChange, CircuitBreaker } from './circuit-breaker.ts';

function setup(options: Partial<ConstructorParameters<typeof CircuitBreaker>[0]> = {}) {
  const clock = new VirtualClock({ now: Date.UTC(2026, 0, 1) });
  const breaker = new CircuitBreaker({ name: 'llm_service', ...options }, clock);
  const changes: string[] = [];
  breaker.onStateChange((change) => changes.push(`${change.from}->${change.to}`));
  return { clock, breaker, changes };
}

function permit(breaker: CircuitBreaker): BreakerPermit {
  const acquired = breaker.tryAcquire();
  assert.ok(acquired.allowed, `expected ${breaker.name} to admit a call in state ${breaker.state}`);
  return acquired.permit;
}

function fail(breaker: CircuitBreaker, times: number): void {
  for (let i = 0; i < times; i++) permit(breaker).failure();
}

async function openThenHalfOpen(setupResult: ReturnType<typeof setup>): Promise<void> {
  fail(setupResult.breaker, 5);
  await setupResult.clock.advance(60_000);
}

describe('CircuitBreaker', () => {
  it('closed: admits calls and counts consecutive failures; a success resets the count', () => {
    const { breaker } = setup();
    fail(breaker, 4);
    permit(breaker).success();
    fail(breaker, 4);
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.stateValue, 0);
  });

  it('closed -> open at failureThreshold consecutive failures', () => {
    const { breaker, changes } = setup();
    fail(breaker, 5);
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.stateValue, 1);
    assert.deepEqual(changes, ['closed->open']);
  });

  it('open: rejects with the time left until the recovery timeout', async () => {
    const { clock, breaker } = setup();
    fail(breaker, 5);
    await clock.advance(20_000);
    assert.deepEqual(breaker.tryAcquire(), { allowed: false, state: 'open', retryAfterMs: 40_000 });
    await clock.advance(39_999);
    assert.deepEqual(breaker.tryAcquire(), { allowed: false, state: 'open', retryAfterMs: 1 });
    assert.equal(breaker.state, 'open');
  });

  it('open -> half-open on the first request after the recovery timeout, not before', async () => {
    const s = setup();
    await openThenHalfOpen(s);
    assert.equal(s.breaker.state, 'open', 'the move is lazy: nothing happens until someone asks');
    permit(s.breaker);
    assert.equal(s.breaker.state, 'half-open');
    assert.equal(s.breaker.stateValue, 0.5);
    assert.deepEqual(s.changes, ['closed->open', 'open->half-open']);
  });

  it('half-open: admits at most halfOpenMaxCalls trial calls in total', async () => {
    const s = setup();
    await openThenHalfOpen(s);
    const trials = [permit(s.breaker), permit(s.breaker), permit(s.breaker)];
    assert.deepEqual(s.breaker.tryAcquire(), { allowed: false, state: 'half-open', retryAfterMs: 60_000 });
    trials[0]?.success();
    assert.equal(s.breaker.tryAcquire().allowed, false, 'a reported trial does not free a slot');
    assert.equal(s.breaker.state, 'half-open');
  });

  it('half-open -> closed after successThreshold trial successes', async () => {
    const s = setup();
    await openThenHalfOpen(s);
    const [a, b] = [permit(s.breaker), permit(s.breaker)];
    a.success();
    assert.equal(s.breaker.state, 'half-open');
    b.success();
    assert.equal(s.breaker.state, 'closed');
    assert.deepEqual(s.changes, ['closed->open', 'open->half-open', 'half-open->closed']);
    fail(s.breaker, 4);
    assert.equal(s.breaker.state, 'closed', 'closing resets the failure count');
  });

  it('half-open -> open on any trial failure, restarting the recovery timeout', async () => {
    const s = setup();
    await openThenHalfOpen(s);
    const [a, b] = [permit(s.breaker), permit(s.breaker)];
    a.success();
    await s.clock.advance(5_000);
    b.failure();
    assert.equal(s.breaker.state, 'open');
    assert.deepEqual(s.breaker.tryAcquire(), { allowed: false, state: 'open', retryAfterMs: 60_000 });
    await s.clock.advance(60_000);
    permit(s.breaker);
    assert.equal(s.breaker.state, 'half-open', 'the new half-open period has fresh counts');
  });

  it('half-open: a released trial frees its slot and counts nothing', async () => {
    const s = setup({ halfOpenMaxCalls: 1, successThreshold: 1 });
    await openThenHalfOpen(s);
    permit(s.breaker).release();
    assert.equal(s.breaker.state, 'half-open');
    permit(s.breaker).success();
    assert.equal(s.breaker.state, 'closed');
  });

  it('ignores a late success from a call admitted while closed, after the breaker opened', () => {
    const { breaker } = setup();
    const slow = permit(breaker);
    fail(breaker, 5);
    slow.success();
    assert.equal(breaker.state, 'open');
  });

  it('ignores late reports from an earlier regime after half-open and after closing again', async () => {
    const s = setup({ successThreshold: 1 });
    const fromFirstClosed = permit(s.breaker);
    const failureFromFirstClosed = permit(s.breaker);
    await openThenHalfOpen(s);
    const trial = permit(s.breaker);
    fromFirstClosed.success(); // must not count as a trial success
    assert.equal(s.breaker.state, 'half-open');
    trial.success();
    assert.equal(s.breaker.state, 'closed');
    fail(s.breaker, 4);
    failureFromFirstClosed.failure(); // would be the fifth failure if it counted
    assert.equal(s.breaker.state, 'closed');
  });

  it('a permit reports once', () => {
    const { breaker } = setup({ failureThreshold: 2 });
    const p = permit(breaker);
    p.failure();
    p.failure();
    assert.equal(breaker.state, 'closed');
  });

  it('execute: counts results and errors, throws BreakerOpenError while open without calling fn', async () => {
    const { clock, breaker } = setup({ failureThreshold: 2 });
    assert.equal(await breaker.execute(() => 42), 42);
    const boom = new Error('boom');
    for (let i = 0; i < 2; i++)
      await assert.rejects(
        breaker.execute(() => Promise.reject(boom)),
        boom,
      );
    await clock.advance(1_500);
    let called = false;
    const error = await breaker
      .execute(() => {
        called = true;
      })
      .then(
        () => assert.fail('expected a rejection'),
        (e: unknown) => e,
      );
    assert.equal(called, false);
    assert.ok(error instanceof BreakerOpenError);
    assert.equal(error.name, 'BreakerOpenError');
    assert.equal(error.retryAfterMs, 58_500);
    assert.equal(
      error.message,
      'circuit breaker "llm_service" is open: it will half-open in 58500 ms (at 2026-01-01T00:01:00.000Z)',
    );
  });

  it('execute: errors isFailure rejects count as successes; errors after abort are released', async () => {
    const s = setup({ isFailure: (e) => !(e instanceof TypeError) });
    fail(s.breaker, 4);
    await assert.rejects(
      s.breaker.execute(() => Promise.reject(new TypeError('bad input'))),
      TypeError,
    );
    fail(s.breaker, 4);
    assert.equal(s.breaker.state, 'closed', 'the TypeError reset the count like a success');

    const t = setup({ halfOpenMaxCalls: 1, successThreshold: 1 });
    await openThenHalfOpen(t);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(t.breaker.execute(() => Promise.reject(new Error('aborted')), controller.signal));
    assert.equal(t.breaker.state, 'half-open');
    assert.equal(t.breaker.tryAcquire().allowed, true, 'the cancelled trial gave its slot back');
  });

  it('onStateChange reports breaker, from, to and time; dispose stops it; a throwing listener is isolated', async () => {
    const errors: unknown[] = [];
    const clock = new VirtualClock({ now: 5_000 });
    const breaker = new CircuitBreaker(
      { name: 'redis', failureThreshold: 1, onListenerError: (e) => errors.push(e) },
      clock,
    );
    const seen: BreakerStateChange[] = [];
    breaker.onStateChange(() => {
      throw new Error('listener bug');
    });
    const subscription = breaker.onStateChange((change) => seen.push(change));
    fail(breaker, 1);
    assert.deepEqual(seen, [{ breaker: 'redis', from: 'closed', to: 'open', at: 5_000 }]);
    assert.equal(errors.length, 1);
    subscription.dispose();
    subscription.dispose();
    await clock.advance(60_000);
    permit(breaker);
    assert.equal(breaker.state, 'half-open');
    assert.equal(seen.length, 1, 'a disposed listener hears nothing more');
  });

  it('rejects bad options with the message template', () => {
    const clock = new VirtualClock();
    assert.throws(
      () => new CircuitBreaker({ name: 'x', failureThreshold: 0 }, clock),
      /^RangeError: Expected `failureThreshold` to be an integer >= 1, got `0` \(number\)$/,
    );
    assert.throws(
      () => new CircuitBreaker({ name: 'x', successThreshold: 4 }, clock),
      /Expected `successThreshold` to be an integer >= 1 and <= 3, got `4` \(number\)/,
    );
    assert.throws(
      () => new CircuitBreaker({ name: 'x', recoveryTimeoutMs: Number.NaN }, clock),
      /Expected `recoveryTimeoutMs` to be a finite number >= 0, got `NaN` \(number\)/,
    );
    assert.throws(() => new CircuitBreaker({ name: '' }, clock), /Expected `name` to be a non-empty string/);
  });
});
