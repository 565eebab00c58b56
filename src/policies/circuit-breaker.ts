/**
 * A circuit breaker for one named dependency, with the parameters and
 * semantics of seed 002 (`failureThreshold`, `recoveryTimeout`,
 * `halfOpenMaxCalls`, `successThreshold`). WHY: when a dependency is down,
 * every call we make costs a timeout and adds load to something already
 * failing; the breaker fails fast instead, and lets a few trial calls find
 * out when the dependency is back.
 *
 * Transition table (one method per row group; `epoch` changes on every
 * transition, and a permit only counts in the epoch that admitted it):
 *
 * | state     | event       | guard                             | next      | effect                                |
 * | --------- | ----------- | --------------------------------- | --------- | ------------------------------------- |
 * | closed    | tryAcquire  |                                   | closed    | permit                                |
 * | closed    | success     |                                   | closed    | failures = 0                          |
 * | closed    | failure     | failures + 1 < failureThreshold   | closed    | failures += 1                         |
 * | closed    | failure     | failures + 1 >= failureThreshold  | open      | openedAt = now                        |
 * | closed    | release     |                                   | closed    | nothing                               |
 * | open      | tryAcquire  | now - openedAt < recoveryTimeout  | open      | reject, retryAfterMs = time left      |
 * | open      | tryAcquire  | now - openedAt >= recoveryTimeout | half-open | trial permit (admitted = 1)           |
 * | half-open | tryAcquire  | admitted < halfOpenMaxCalls       | half-open | trial permit (admitted += 1)          |
 * | half-open | tryAcquire  | admitted >= halfOpenMaxCalls      | half-open | reject                                |
 * | half-open | success     | successes + 1 >= successThreshold | closed    | counts reset                          |
 * | half-open | success     | otherwise                         | half-open | successes += 1                        |
 * | half-open | failure     |                                   | open      | openedAt = now (the timeout restarts) |
 * | half-open | release     |                                   | half-open | admitted -= 1 (the slot is reusable)  |
 * | any       | late report | permit's epoch != epoch           | unchanged | ignored                               |
 *
 * Late reports are ignored because they describe a regime that is over: a
 * success from a call admitted while closed, arriving after the breaker
 * opened, says nothing about whether the dependency has recovered.
 *
 * `halfOpenMaxCalls` caps the trial calls of one half-open period in total
 * (as in the seed), so `successThreshold` must not exceed it. Open becomes
 * half-open lazily, on the first request after the timeout, so `state` reads
 * 'open' until someone asks.
 */
import type { Clock } from '../time/clock.ts';
import { BreakerOpenError } from './breaker-open-error.ts';
import { checkInteger, checkNumber } from './check-option.ts';
import { ListenerSet } from './listener-set.ts';

/** The three states, as reported to users and metrics. */
export type BreakerStateName = 'closed' | 'open' | 'half-open';

type BreakerState =
  | { readonly kind: 'closed'; readonly epoch: number; readonly failures: number }
  | { readonly kind: 'open'; readonly epoch: number; readonly openedAtMs: number }
  | { readonly kind: 'half-open'; readonly epoch: number; readonly admitted: number; readonly successes: number };

/** The right to make one call. Report its outcome exactly once; later reports are ignored. */
export interface BreakerPermit {
  /** The dependency answered well. */
  success(): void;
  /** The dependency failed (an error that `isFailure` counts). */
  failure(): void;
  /** The call never tested the dependency (e.g. it was cancelled): frees a half-open trial slot, counts nothing. */
  release(): void;
}

/** What {@link CircuitBreaker.tryAcquire} returns. */
export type BreakerAcquisition =
  | { readonly allowed: true; readonly permit: BreakerPermit }
  | { readonly allowed: false; readonly state: 'open' | 'half-open'; readonly retryAfterMs: number };

/** A state change, as given to {@link CircuitBreaker.onStateChange} listeners. */
export interface BreakerStateChange {
  readonly breaker: string;
  readonly from: BreakerStateName;
  readonly to: BreakerStateName;
  /** Wall-clock epoch ms of the change. */
  readonly at: number;
}

export interface CircuitBreakerOptions {
  /** The dependency's name, used in errors and events (`llm_service`). */
  name: string;
  /** Consecutive failures that open a closed breaker. Default 5. */
  failureThreshold?: number;
  /** How long an open breaker rejects before it lets trial calls through. Default 60 000. */
  recoveryTimeoutMs?: number;
  /** Trial calls admitted in one half-open period. Default 3. */
  halfOpenMaxCalls?: number;
  /** Trial successes that close a half-open breaker (<= halfOpenMaxCalls). Default 2. */
  successThreshold?: number;
  /** Which errors count against the dependency in `execute`; others count as successes. Default: every error. */
  isFailure?: (error: unknown) => boolean;
  /** Receives errors thrown by state-change listeners. Default: ignore them. */
  onListenerError?: (error: unknown) => void;
}

const STATE_VALUE: Record<BreakerStateName, number> = { closed: 0, 'half-open': 0.5, open: 1 };

/**
 * A circuit breaker on an injected clock.
 *
 * @example
 * const breaker = new CircuitBreaker({ name: 'llm_service' }, clock);
 * const text = await breaker.execute(() => callLlm(prompt)); // throws BreakerOpenError while open
 */
export class CircuitBreaker {
  readonly name: string;
  readonly #clock: Clock;
  readonly #failureThreshold: number;
  readonly #recoveryTimeoutMs: number;
  readonly #halfOpenMaxCalls: number;
  readonly #successThreshold: number;
  readonly #isFailure: (error: unknown) => boolean;
  readonly #listeners: ListenerSet<BreakerStateChange>;
  #state: BreakerState = { kind: 'closed', epoch: 0, failures: 0 };

  constructor(options: CircuitBreakerOptions, clock: Clock) {
    if (typeof options.name !== 'string' || options.name === '') {
      throw new RangeError(
        `Expected \`name\` to be a non-empty string, got \`${String(options.name)}\` (${typeof options.name})`,
      );
    }
    this.name = options.name;
    this.#clock = clock;
    this.#failureThreshold = checkInteger('failureThreshold', options.failureThreshold ?? 5, { min: 1 });
    this.#recoveryTimeoutMs = checkNumber('recoveryTimeoutMs', options.recoveryTimeoutMs ?? 60_000, { min: 0 });
    this.#halfOpenMaxCalls = checkInteger('halfOpenMaxCalls', options.halfOpenMaxCalls ?? 3, { min: 1 });
    this.#successThreshold = checkInteger('successThreshold', options.successThreshold ?? 2, {
      min: 1,
      max: this.#halfOpenMaxCalls,
    });
    this.#isFailure = options.isFailure ?? (() => true);
    this.#listeners = new ListenerSet(options.onListenerError);
  }

  /** The current state; an open breaker whose timeout passed still reads 'open' until the next request. */
  get state(): BreakerStateName {
    return this.#state.kind;
  }

  /** Failures in a row counted while closed (0 in the other states): a success now would reset them. */
  get consecutiveFailures(): number {
    return this.#state.kind === 'closed' ? this.#state.failures : 0;
  }

  /** The state as the `autoloop_breaker_state` gauge: 0 closed, 0.5 half-open, 1 open. */
  get stateValue(): number {
    return STATE_VALUE[this.#state.kind];
  }

  /** Calls `listener` after every transition. */
  onStateChange(listener: (change: BreakerStateChange) => void): { dispose(): void } {
    return this.#listeners.add(listener);
  }

  /** Asks to make one call. When allowed, report the outcome on the permit. */
  tryAcquire(): BreakerAcquisition {
    const state = this.#state;
    if (state.kind === 'closed') return { allowed: true, permit: this.#permit(state.epoch) };
    if (state.kind === 'half-open') return this.#acquireTrial(state);
    const remainingMs = state.openedAtMs + this.#recoveryTimeoutMs - this.#clock.monotonic();
    if (remainingMs > 0) return { allowed: false, state: 'open', retryAfterMs: remainingMs };
    this.#toHalfOpen();
    return this.tryAcquire(); // re-read: a state-change listener may have acted in between
  }

  /**
   * Runs `fn` under a permit and reports its outcome: a result is a success,
   * an error is a failure when `isFailure` says so (else a success: the
   * dependency answered), and an error after `signal` aborted is released
   * (cancellation says nothing about the dependency). Rethrows fn's error.
   *
   * @throws BreakerOpenError when the breaker rejects the call; `fn` is not called.
   */
  async execute<T>(fn: () => Promise<T> | T, signal?: AbortSignal): Promise<T> {
    const acquired = this.tryAcquire();
    if (!acquired.allowed) {
      throw new BreakerOpenError(this.name, acquired.state, acquired.retryAfterMs, this.#clock.now());
    }
    const { permit } = acquired;
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      if (signal?.aborted) permit.release();
      else if (this.#countsAsFailure(error)) permit.failure();
      else permit.success();
      throw error;
    }
    permit.success();
    return result;
  }

  #countsAsFailure(error: unknown): boolean {
    try {
      return this.#isFailure(error);
    } catch {
      return true; // a broken classifier must not leave the permit unreported
    }
  }

  #acquireTrial(state: Extract<BreakerState, { kind: 'half-open' }>): BreakerAcquisition {
    if (state.admitted >= this.#halfOpenMaxCalls) {
      // The trials decide; a reopened breaker would not admit again sooner than a full timeout.
      return { allowed: false, state: 'half-open', retryAfterMs: this.#recoveryTimeoutMs };
    }
    this.#state = { ...state, admitted: state.admitted + 1 };
    return { allowed: true, permit: this.#permit(state.epoch) };
  }

  #permit(epoch: number): BreakerPermit {
    return new Permit(this.#report, epoch);
  }

  /** A permit's one report; made once per breaker, so a permit holds no closures of its own. */
  readonly #report = (epoch: number, outcome: 'success' | 'failure' | 'release'): void => {
    if (this.#state.epoch !== epoch) return; // late: the regime that admitted it is over
    if (outcome === 'success') this.#onSuccess();
    else if (outcome === 'failure') this.#onFailure();
    else this.#onRelease();
  };

  #onSuccess(): void {
    const state = this.#state;
    if (state.kind === 'closed') {
      if (state.failures > 0) this.#state = { ...state, failures: 0 };
    } else if (state.kind === 'half-open') {
      if (state.successes + 1 >= this.#successThreshold) this.#toClosed();
      else this.#state = { ...state, successes: state.successes + 1 };
    }
  }

  #onFailure(): void {
    const state = this.#state;
    if (state.kind === 'half-open') this.#toOpen();
    else if (state.kind === 'closed') {
      if (state.failures + 1 >= this.#failureThreshold) this.#toOpen();
      else this.#state = { ...state, failures: state.failures + 1 };
    }
  }

  #onRelease(): void {
    const state = this.#state;
    if (state.kind === 'half-open') this.#state = { ...state, admitted: state.admitted - 1 };
  }

  #toOpen(): void {
    this.#transition({ kind: 'open', epoch: this.#state.epoch + 1, openedAtMs: this.#clock.monotonic() });
  }

  #toHalfOpen(): void {
    this.#transition({ kind: 'half-open', epoch: this.#state.epoch + 1, admitted: 0, successes: 0 });
  }

  #toClosed(): void {
    this.#transition({ kind: 'closed', epoch: this.#state.epoch + 1, failures: 0 });
  }

  #transition(next: BreakerState): void {
    const from = this.#state.kind;
    this.#state = next;
    this.#listeners.emit({ breaker: this.name, from, to: next.kind, at: this.#clock.now() });
  }
}

/** One call's permit: the first report counts, later ones are ignored. */
class Permit implements BreakerPermit {
  readonly #report: (epoch: number, outcome: 'success' | 'failure' | 'release') => void;
  readonly #epoch: number;
  #reported = false;

  constructor(report: (epoch: number, outcome: 'success' | 'failure' | 'release') => void, epoch: number) {
    this.#report = report;
    this.#epoch = epoch;
  }

  success(): void {
    this.#once('success');
  }

  failure(): void {
    this.#once('failure');
  }

  release(): void {
    this.#once('release');
  }

  #once(outcome: 'success' | 'failure' | 'release'): void {
    if (this.#reported) return;
    this.#reported = true;
    this.#report(this.#epoch, outcome);
  }
}
