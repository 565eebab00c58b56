import { performance } from 'node:perf_hooks';
import { type Clock, sleepOnTimer, type TimerHandle } from './clock.ts';

/**
 * The real clock: the one place that reads `Date.now()` and sets Node timers.
 * Timers are unref'd only when asked, so a running loop keeps the process up.
 */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  monotonic(): number {
    return performance.now();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOnTimer((delay, fn) => this.setTimer(delay, fn), ms, signal);
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    return new NodeTimer(setTimeout(fn, Math.max(0, ms)));
  }
}

/** A Node timer as a {@link TimerHandle}: a class, so a handle costs no closure (two per item). */
class NodeTimer implements TimerHandle {
  readonly #timer: NodeJS.Timeout;

  constructor(timer: NodeJS.Timeout) {
    this.#timer = timer;
  }

  cancel(): void {
    clearTimeout(this.#timer);
  }
}

/** The process-wide real clock. Stateless, so sharing it is safe. */
export const systemClock: Clock = new SystemClock();
