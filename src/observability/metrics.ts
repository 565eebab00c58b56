import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Disposable, EventBus } from './events.ts';

/**
 * Prometheus metrics for one runtime, derived purely from bus events.
 *
 * Every runtime gets its own `Registry` (never prom-client's global one), so
 * several runtimes in one process (tests, `simulate`) never share or clash on
 * series. Times come from the events' `at` (the runtime clock), so a virtual
 * clock yields deterministic timestamps.
 */
export interface RuntimeMetrics {
  /** The registry holding every series; render it with `await registry.metrics()`. */
  readonly registry: Registry;
  /**
   * Stop following the bus. Idempotent. Series keep their last values, so a
   * final scrape after shutdown still reports them.
   */
  dispose(): void;
}

export interface MetricsOptions {
  /** Registry to register into. Default: a fresh one per call. */
  registry?: Registry;
  /** Read at scrape time: leases this process holds now. */
  activeLeases?: () => number;
  /** Read at scrape time: the circuit breakers, for `autoloop_breaker_state`. */
  breakers?: () => ReadonlyArray<{ readonly name: string; readonly stateValue: number }>;
  /**
   * Read at scrape time: what a store outage holds in memory and what was
   * dropped past the caps, by kind (`items`, `cycles`, `skips`, `events`),
   * and the store calls that failed so far.
   */
  storeOutage?: () => StoreOutageFigures;
  /**
   * Also collect prom-client's default process metrics (CPU, memory, file
   * descriptors, event loop lag, GC) under their standard names
   * (`process_cpu_seconds_total`, `nodejs_eventloop_lag_seconds`, ...), so
   * stock Node.js dashboards and alerts find them. Default true.
   * prom-client keeps an event-loop-delay monitor and a GC observer alive for
   * the rest of the process once these are on, and `dispose()` cannot
   * release them: turn this off where many runtimes are made in one process.
   */
  processMetrics?: boolean;
  /**
   * Follow the bus for the series derived from events (cycles, items,
   * attempts, leases, breakers). Default true. Off, those series are
   * registered but stay at zero: for runtimes nobody scrapes (`autoloop
   * simulate`, where following every event cost about 5 % of the CPU).
   */
  followEvents?: boolean;
}

/** What {@link MetricsOptions.storeOutage} reads: counts by kind, and failed store calls. */
export interface StoreOutageFigures {
  readonly held: Readonly<Record<string, number>>;
  readonly dropped: Readonly<Record<string, number>>;
  readonly failures: number;
}

/** Item durations: one millisecond up to ten minutes (a collector's timeout). */
export const ITEM_DURATION_BUCKETS = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
] as const;

/**
 * Attempt latencies: as item durations, but finer from 1 s to 10 s, where
 * adaptive concurrency's p95 bars sit (8 s by default), so
 * `histogram_quantile(0.95, ...)` against a bar there interpolates within
 * a 2 s bucket rather than 5 s to 10 s.
 */
export const ATTEMPT_DURATION_BUCKETS = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 6, 8, 10, 15, 30, 60, 120, 300, 600,
] as const;

/** Cycle durations: ten milliseconds up to two hours (a reconcile budget). */
export const CYCLE_DURATION_BUCKETS = [
  0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200,
] as const;

const CYCLE_OUTCOMES = ['ok', 'partial', 'failed', 'skipped'] as const;
const ITEM_OUTCOMES = ['succeeded', 'failed', 'skipped'] as const;
type ItemOutcome = (typeof ITEM_OUTCOMES)[number];
const MAX_REASON_LENGTH = 40;

/**
 * The stable class of a skip reason, for a label of bounded cardinality:
 * the text before the first `:`, lower-cased, reduced to `[a-z0-9_]`.
 *
 * @example skipReasonClass('overlap: cycle c-41 still running') // 'overlap'
 */
export function skipReasonClass(reason: string): string {
  const head = reason.split(':', 1)[0] ?? '';
  const cls = head
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, MAX_REASON_LENGTH);
  return cls === '' ? 'unknown' : cls;
}

/**
 * Create the runtime's metrics and start following `bus`.
 *
 * @example
 * const metrics = createMetrics(bus, { processMetrics: false });
 * bus.emit('cycle.skipped', { loop: 'prices', tickId: 't1', reason: 'overlap' });
 * await metrics.registry.metrics(); // contains autoloop_cycles_total{loop="prices",outcome="skipped"} 1
 */
export function createMetrics(bus: EventBus, options: MetricsOptions = {}): RuntimeMetrics {
  const registry = options.registry ?? new Registry();
  if (options.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
  }
  // Per-item figures are counted in plain fields and handed to prom-client at scrape time (`collect`):
  // its label hashing on every item start and end was ~5 % of a no-op item's CPU (bench (b), --cpu-prof).
  const inFlight = new InFlightTracker();
  const outcomes = new ItemOutcomes();
  const m = defineSeries(registry, inFlight, outcomes);

  const subscriptions: Disposable[] = !(options.followEvents ?? true)
    ? []
    : [
        bus.on('runtime.started', ({ loops }) => {
          // Series that exist from the start make rate() and absence alerts work
          // before the first cycle, instead of appearing out of nowhere.
          for (const loop of loops) initialiseLoop(m, loop);
        }),
        bus.on('cycle.finished', ({ loop, cycleId, outcome, durationMs }, at) => {
          inFlight.endCycle(cycleId);
          // A finished cycle is never `running`; `skipped` is counted from
          // cycle.skipped alone so one skip is never counted twice.
          if (outcome.kind === 'running' || outcome.kind === 'skipped') return;
          m.cycles.inc({ loop, outcome: outcome.kind });
          m.cycleDuration.observe({ loop }, durationMs / 1000);
          m.lastCycle.set({ loop, outcome: outcome.kind }, at / 1000);
        }),
        bus.on('cycle.skipped', ({ loop, reason }, at) => {
          m.cycles.inc({ loop, outcome: 'skipped' });
          m.skipped.inc({ loop, reason: skipReasonClass(reason) });
          m.lastCycle.set({ loop, outcome: 'skipped' }, at / 1000);
        }),
        bus.on('item.started', ({ loop, cycleId, key }) => inFlight.start(loop, cycleId, key)),
        bus.on('item.attempted', ({ loop, durationMs }) => m.attemptDuration.observe({ loop }, durationMs / 1000)),
        bus.on('item.retried', ({ loop, cycleId, key }) => {
          inFlight.end(cycleId, key);
          m.retries.inc({ loop });
        }),
        bus.on('item.succeeded', ({ loop, cycleId, key, durationMs }) => {
          inFlight.end(cycleId, key);
          outcomes.count(loop, 'succeeded');
          m.itemDuration.observe({ loop, outcome: 'succeeded' }, durationMs / 1000);
        }),
        bus.on('item.failed', ({ loop, cycleId, key, durationMs }) => {
          inFlight.end(cycleId, key);
          outcomes.count(loop, 'failed');
          m.itemDuration.observe({ loop, outcome: 'failed' }, durationMs / 1000);
        }),
        bus.on('loop.concurrency', ({ loop, limit }) => m.concurrencyLimit.set({ loop }, limit)),
        bus.on('item.skipped', ({ loop }) => outcomes.count(loop, 'skipped')),
        bus.on('lease.recovered', () => m.staleLeasesRecovered.inc()),
        bus.on('lease.lost', () => m.leasesLost.inc()),
        bus.on('loop.concurrency', ({ loop, limit }) => m.adaptiveConcurrency.set({ loop }, limit)),
        bus.on('backpressure.cooldown', ({ loop }) => m.cooldowns.inc({ loop })),
        bus.on('breaker.state', ({ breaker, to }) => m.breakerTransitions.inc({ breaker, to })),
      ];
  const { breakers } = options;
  if (breakers) {
    new Gauge({
      name: 'autoloop_breaker_state',
      help: 'Circuit breaker state per dependency: 0 closed, 0.5 half-open, 1 open.',
      labelNames: ['breaker'] as const,
      registers: [registry],
      collect() {
        for (const b of breakers()) this.set({ breaker: b.name }, b.stateValue);
      },
    });
  }
  if (options.storeOutage) defineOutageSeries(registry, options.storeOutage);
  const activeLeases = options.activeLeases;
  if (activeLeases) {
    new Gauge({
      name: 'autoloop_active_leases',
      help: 'Per-key leases this process holds now.',
      registers: [registry],
      collect() {
        this.set(activeLeases());
      },
    });
  }

  let disposed = false;
  return {
    registry,
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const subscription of subscriptions) subscription.dispose();
    },
  };
}

/** Scrape-time series of the store's outage buffers (see runtime/outage-buffer.ts). */
function defineOutageSeries(registry: Registry, read: () => StoreOutageFigures): void {
  const registers = [registry];
  new Gauge({
    name: 'autoloop_store_buffered',
    help: 'Writes held in memory because the store was unavailable, by kind (items to re-run, cycle records, skipped ticks, events); written when it answers again.',
    labelNames: ['kind'] as const,
    registers,
    collect() {
      for (const [kind, value] of Object.entries(read().held)) this.set({ kind }, value);
    },
  });
  new Counter({
    name: 'autoloop_store_buffer_dropped_total',
    help: 'Held writes dropped, oldest first, because an outage buffer was full, by kind. Skipped ticks dropped are still counted in the reason of the oldest one recorded.',
    labelNames: ['kind'] as const,
    registers,
    collect() {
      // A running total kept by the buffers; re-stated at each scrape.
      this.reset();
      for (const [kind, value] of Object.entries(read().dropped)) this.inc({ kind }, value);
    },
  });
  new Counter({
    name: 'autoloop_store_failures_total',
    help: "Store calls and probes that failed (the `store` breaker's failures).",
    registers,
    collect() {
      this.reset();
      this.inc(read().failures);
    },
  });
}

type Series = ReturnType<typeof defineSeries>;

function defineSeries(registry: Registry, inFlight: InFlightTracker, outcomes: ItemOutcomes) {
  const registers = [registry];
  return {
    cycles: new Counter({
      name: 'autoloop_cycles_total',
      help: 'Cycles by final outcome (ok, partial, failed, skipped).',
      labelNames: ['loop', 'outcome'] as const,
      registers,
    }),
    skipped: new Counter({
      name: 'autoloop_cycles_skipped_total',
      help: 'Skipped cycles by reason class (the reason text before its first colon).',
      labelNames: ['loop', 'reason'] as const,
      registers,
    }),
    items: new Counter({
      name: 'autoloop_items_total',
      help: 'Work items by final outcome, after all their attempts.',
      labelNames: ['loop', 'outcome'] as const,
      registers,
      collect() {
        outcomes.drain((loop, outcome, n) => this.inc({ loop, outcome }, n));
      },
    }),
    retries: new Counter({
      name: 'autoloop_item_retries_total',
      help: 'Failed item attempts that were retried.',
      labelNames: ['loop'] as const,
      registers,
    }),
    itemDuration: new Histogram({
      name: 'autoloop_item_duration_seconds',
      help: 'Time from a work item starting to its final outcome, across all attempts.',
      labelNames: ['loop', 'outcome'] as const,
      buckets: [...ITEM_DURATION_BUCKETS],
      registers,
    }),
    attemptDuration: new Histogram({
      name: 'autoloop_item_attempt_duration_seconds',
      help: "One attempt's latency, the measure of the loop's latency window and adaptive concurrency (no rate-limit wait; attempts cut short by shutdown or a lost lease left out).",
      labelNames: ['loop'] as const,
      buckets: [...ATTEMPT_DURATION_BUCKETS],
      registers,
    }),
    cycleDuration: new Histogram({
      name: 'autoloop_cycle_duration_seconds',
      help: 'Duration of cycles that ran (observe, plan, act and record).',
      labelNames: ['loop'] as const,
      buckets: [...CYCLE_DURATION_BUCKETS],
      registers,
    }),
    lastCycle: new Gauge({
      name: 'autoloop_last_cycle_timestamp_seconds',
      help: 'Runtime clock time (Unix seconds) of the last cycle to end with each outcome.',
      labelNames: ['loop', 'outcome'] as const,
      registers,
    }),
    adaptiveConcurrency: new Gauge({
      name: 'autoloop_adaptive_concurrency',
      help: "The loop's current item concurrency limit (moved by adaptive concurrency when enabled; the signals recipe's adaptive_batch_size).",
      labelNames: ['loop'] as const,
      registers,
    }),
    cooldowns: new Counter({
      name: 'autoloop_backpressure_cooldowns_total',
      help: 'Backpressure cooldowns entered after consecutive overrunning cycles.',
      labelNames: ['loop'] as const,
      registers,
    }),
    breakerTransitions: new Counter({
      name: 'autoloop_breaker_transitions_total',
      help: 'Circuit breaker state changes by dependency and new state.',
      labelNames: ['breaker', 'to'] as const,
      registers,
    }),
    staleLeasesRecovered: new Counter({
      name: 'autoloop_stale_leases_recovered_total',
      help: 'Expired leases of stopped or stalled holders that this process removed or took over.',
      registers,
    }),
    leasesLost: new Counter({
      name: 'autoloop_leases_lost_total',
      help: 'Leases this process lost while holding them (renewal refused or give-up deadline passed); their items were aborted.',
      registers,
    }),
    itemsInFlight: new Gauge({
      name: 'autoloop_items_in_flight',
      help: 'Item attempts running now.',
      labelNames: ['loop'] as const,
      registers,
      collect() {
        for (const [loop, running] of inFlight.byLoop) this.set({ loop }, running);
      },
    }),
    concurrencyLimit: new Gauge({
      name: 'autoloop_concurrency_limit',
      help: 'Current limit on concurrent item attempts (fixed or adaptive).',
      labelNames: ['loop'] as const,
      registers,
    }),
  };
}

function initialiseLoop(m: Series, loop: string): void {
  for (const outcome of CYCLE_OUTCOMES) m.cycles.inc({ loop, outcome }, 0);
  for (const outcome of ITEM_OUTCOMES) m.items.inc({ loop, outcome }, 0);
  m.retries.inc({ loop }, 0);
  m.itemsInFlight.inc({ loop }, 0);
}

/** Items' final outcomes counted since the last scrape, per loop; added to `autoloop_items_total` by its `collect`. */
class ItemOutcomes {
  readonly #pending = new Map<string, Record<ItemOutcome, number>>();

  count(loop: string, outcome: ItemOutcome): void {
    let counts = this.#pending.get(loop);
    if (!counts) {
      counts = { succeeded: 0, failed: 0, skipped: 0 };
      this.#pending.set(loop, counts);
    }
    counts[outcome]++;
  }

  /** Hands over the counts (those above zero) and starts again from zero. */
  drain(add: (loop: string, outcome: ItemOutcome, n: number) => void): void {
    for (const [loop, counts] of this.#pending) {
      for (const outcome of ITEM_OUTCOMES) {
        const n = counts[outcome];
        if (n === 0) continue;
        counts[outcome] = 0;
        add(loop, outcome, n);
      }
    }
  }
}

/**
 * Tracks which item attempts are running so the in-flight gauge cannot
 * drift. Event order per item: `item.started` per attempt, `item.retried`
 * after each attempt that will be retried, then one `item.succeeded` or
 * `item.failed`. Counting events blindly would go negative for an item that
 * fails without an attempt (breaker open, lease taken) and stick high if an
 * event were lost, so an attempt is a flag per (cycle, key), and a finished
 * cycle clears any flag left behind.
 */
class InFlightTracker {
  /** cycleId -> key -> loop of each running attempt. */
  readonly #running = new Map<string, Map<string, string>>();
  /** Running attempts per loop (a loop stays listed at 0 once seen), read by the gauge at scrape time. */
  readonly byLoop = new Map<string, number>();

  start(loop: string, cycleId: string, key: string): void {
    let keys = this.#running.get(cycleId);
    if (!keys) {
      keys = new Map();
      this.#running.set(cycleId, keys);
    }
    if (keys.has(key)) return;
    keys.set(key, loop);
    this.byLoop.set(loop, (this.byLoop.get(loop) ?? 0) + 1);
  }

  end(cycleId: string, key: string): void {
    const keys = this.#running.get(cycleId);
    const loop = keys?.get(key);
    if (!keys || loop === undefined) return;
    keys.delete(key);
    if (keys.size === 0) this.#running.delete(cycleId);
    this.#dec(loop);
  }

  endCycle(cycleId: string): void {
    const keys = this.#running.get(cycleId);
    if (!keys) return;
    this.#running.delete(cycleId);
    for (const loop of keys.values()) this.#dec(loop);
  }

  #dec(loop: string): void {
    this.byLoop.set(loop, (this.byLoop.get(loop) ?? 1) - 1);
  }
}
