import type { ResolvedDependency } from '../core/loop.ts';
import type { RateLimitStore } from '../storage/store.ts';
import type { Clock } from '../time/clock.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import { LatencyTracker } from './latency-tracker.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { SharedWindowLimiter } from './shared-window-limiter.ts';
import { WindowLimiter } from './window-limiter.ts';

/** Latency samples kept per dependency, for its p50/p95/p99 in metrics and health. */
const DEPENDENCY_LATENCY_WINDOW = 100;

/**
 * One named dependency at run time, shared by every loop that uses it: its
 * circuit breaker, its rate limiter (in-process, or in the store to be shared
 * by every process), and its latency window.
 */
export class Dependency {
  readonly name: string;
  readonly breaker: CircuitBreaker | null;
  readonly limiter: RateLimiter | null;
  readonly latency = new LatencyTracker({ window: DEPENDENCY_LATENCY_WINDOW });

  constructor(spec: ResolvedDependency, clock: Clock, buckets: RateLimitStore) {
    this.name = spec.name;
    this.breaker = spec.breaker ? new CircuitBreaker({ name: spec.name, ...spec.breaker }, clock) : null;
    const rate = spec.rateLimit;
    if (!rate) this.limiter = null;
    else if (rate.shared) {
      this.limiter = new SharedWindowLimiter(
        { name: spec.name, limit: rate.requests, perMs: rate.perMs },
        buckets,
        clock,
      );
    } else this.limiter = new WindowLimiter({ limit: rate.requests, perMs: rate.perMs }, clock);
  }
}
