/**
 * Seed 002's Prometheus metrics, under the seed's names, for dashboards and
 * alerts written against the seed. Every series is derived from the
 * runtime's typed bus (plus the pipeline's stage ends for `llm_latency_ms`),
 * like autoloop's own `autoloop_*` series (src/observability/metrics.ts),
 * which stay the reference; this is a second view of the same events.
 *
 * Counter names follow Prometheus (and the seed's Python client, which
 * appends `_total`): the seed wrote `signal_generation_skipped`, the series
 * is `signal_generation_skipped_total`, which is what the seed's
 * `HighSkipRate` alert reads.
 *
 * | seed metric (exposed as)                                  | fed by                                                                 | autoloop's own series                              |
 * | --------------------------------------------------------- | ---------------------------------------------------------------------- | -------------------------------------------------- |
 * | `signal_generation_total{symbol,action}`                  | `result.published` (the stored signal's `action`)                      | `autoloop_items_total{outcome="succeeded"}` (no action) |
 * | `signal_generation_skipped` (`_total`) `{symbol,reason}`  | `item.skipped` (reason `locked`), `item.failed` (reason from the error: `timeout`, `breaker_open`, `stage_failed`, `shutdown`, `error`) | `autoloop_items_total{outcome="skipped"\|"failed"}` |
 * | `cycle_failures_total`                                    | `cycle.finished` with outcome `failed`                                 | `autoloop_cycles_total{outcome="failed"}`          |
 * | `cycles_skipped_circuit_open` (`_total`)                  | `cycle.skipped` whose reason names a breaker                           | `autoloop_cycles_skipped_total{reason="breaker"}`  |
 * | `cycles_skipped_high_latency` (`_total`)                  | `cycle.skipped` with reason `latency: ...`                             | `autoloop_cycles_skipped_total{reason="latency"}`  |
 * | `stale_locks_recovered` (`_total`) `{symbol,reason}`      | `lease.recovered` of `<loop>/<symbol>` (reason `lease_expired`)        | `autoloop_stale_leases_recovered_total`            |
 * | `circuit_breaker_rejected` (`_total`) `{breaker}`         | `item.failed` with a `BreakerOpenError` (the breaker named in it)      | -                                                  |
 * | `backpressure_cooldowns` (`_total`)                       | `backpressure.cooldown`                                                | `autoloop_backpressure_cooldowns_total`            |
 * | `signals_generated_last_cycle`                            | `cycle.finished`: `counts.succeeded`                                   | -                                                  |
 * | `active_locks`                                            | items between their first `item.started` and their final event (they hold their lease) | `autoloop_active_leases` (every loop) |
 * | `symbols_processing`                                      | attempts running: `item.started` to `item.retried\|succeeded\|failed`   | `autoloop_items_in_flight`                         |
 * | `circuit_breaker_state{breaker,state}`                    | `breaker.state`: one series, the current state's, 0 closed, 0.5 half_open, 1 open | `autoloop_breaker_state{breaker}`       |
 * | `adaptive_batch_size`                                     | `loop.concurrency`                                                     | `autoloop_adaptive_concurrency`                    |
 * | `current_p95_latency_ms`                                  | read at scrape: `latencyP95Ms()`, else the p95 of the last 10 item durations | `autoloop_item_attempt_duration_seconds` (a histogram: its p95 by `histogram_quantile`) |
 * | `cycle_duration_seconds`                                  | `cycle.finished` (cycles that ran)                                     | `autoloop_cycle_duration_seconds`                  |
 * | `symbol_processing_duration_seconds{symbol}`              | `item.succeeded` / `item.failed` (all attempts)                        | `autoloop_item_duration_seconds` (no symbol)       |
 * | `llm_latency_ms`                                          | {@link SignalsMetrics.observeStage} for `llm` stages (no bus event carries it) | -                                          |
 *
 * Only events of the given signals loops count (breaker states count for
 * every breaker). Several signals loops on one registry share the series
 * (counters add up; gauges hold the last value): give each its own registry
 * when they must be told apart. `circuit_breaker_state` keeps only the
 * current state's series of each breaker, so the seed's
 * `circuit_breaker_state{state="open"} == 1` holds exactly while it is open.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ErrorInfo } from '../../core/errors.ts';
import type { Disposable, EventBus, PublishedResult } from '../../observability/events.ts';
import { CYCLE_DURATION_BUCKETS, skipReasonClass } from '../../observability/metrics.ts';
import { LatencyTracker } from '../../policies/latency-tracker.ts';
import type { StageEnd } from './pipeline.ts';

/** The runtime's event for a stored result of a loop with `publish` (every signal). */
export type ResultPublished = PublishedResult;
export const RESULT_PUBLISHED = 'result.published';

export interface SignalsMetricsOptions {
  /** Where the series are registered. Registering twice on one registry throws. */
  readonly registry: Registry;
  /** The signals loops whose events count. */
  readonly loops: readonly string[];
  /** Breakers reported as closed until their first state change (e.g. `llm_service`). */
  readonly breakers?: readonly string[];
  /**
   * Feed `llm_latency_ms` from the LLM stages recorded in each published
   * signal (`stages[].durationMs` of stages with a `model`), for runtimes
   * that cannot pass {@link SignalsMetrics.observeStage} to the recipe (YAML
   * configs). Counts successful calls only, and stops once observeStage is
   * called (it sees every call). Default false.
   */
  readonly llmFromSignals?: boolean;
  /** Read at scrape time for `current_p95_latency_ms` (e.g. the loop governor's window). Default: the p95 of the last 10 item durations. */
  readonly latencyP95Ms?: () => number;
}

export interface SignalsMetrics {
  readonly registry: Registry;
  /** Feed a pipeline's stage end (`Pipeline`'s `onStage`): `llm` stages go into `llm_latency_ms`. */
  observeStage(end: StageEnd): void;
  /** Stop following the bus. Series keep their values. Idempotent. */
  dispose(): void;
}

/** `llm_latency_ms` buckets around the seed's 8 s / 9 s bars and 10 s timeout. */
export const LLM_LATENCY_BUCKETS_MS = [
  100, 250, 500, 1_000, 2_000, 4_000, 6_000, 8_000, 9_000, 10_000, 12_000, 15_000, 30_000,
];
/** `symbol_processing_duration_seconds` buckets: a symbol takes up to its timeout (10 s) per attempt, two attempts and a backoff. */
export const SYMBOL_DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 6, 8, 10, 12, 15, 20, 30, 60];

const BREAKER_STATE_VALUE: Record<string, number> = { closed: 0, half_open: 0.5, open: 1 };

/**
 * Registers the seed's series on `options.registry` and follows `bus`.
 *
 * @example
 * const metrics = createSignalsMetrics(runtime.bus, { registry: runtime.metrics.registry, loops: ['signals'], breakers: ['llm_service'] });
 * const recipe = signalsRecipe({ ..., onStage: (end) => metrics.observeStage(end) });
 */
export function createSignalsMetrics(bus: EventBus, options: SignalsMetricsOptions): SignalsMetrics {
  const loops = new Set(options.loops);
  const m = defineSeries(options.registry, options.latencyP95Ms);
  const work = new WorkTracker(m.activeLocks, m.processing);
  for (const breaker of options.breakers ?? []) m.breakerState.set({ breaker, state: 'closed' }, 0);
  const mine = (loop: string) => loops.has(loop);
  // Once a recipe feeds its stages here, the published signals' stages would count its LLM calls twice.
  let fedByStages = false;

  const subscriptions: Disposable[] = [
    bus.on('result.published', (data) => {
      if (!mine(data.loop)) return;
      const output = data.output as { action?: unknown; stages?: unknown } | null;
      const action = output?.action;
      m.generated.inc({ symbol: data.key, action: typeof action === 'string' ? action : 'unknown' });
      if (options.llmFromSignals && !fedByStages) observeLlmStages(output?.stages, m.llmLatency);
    }),
    bus.on('item.started', ({ loop, cycleId, key }) => {
      if (mine(loop)) work.start(cycleId, key);
    }),
    bus.on('item.retried', ({ loop, cycleId, key }) => {
      if (mine(loop)) work.attemptEnded(cycleId, key);
    }),
    bus.on('item.succeeded', ({ loop, cycleId, key, durationMs }) => {
      if (!mine(loop)) return;
      work.end(cycleId, key);
      m.symbolDuration.observe({ symbol: key }, durationMs / 1000);
      m.latency.record(durationMs, true);
    }),
    bus.on('item.failed', ({ loop, cycleId, key, durationMs, error }) => {
      if (!mine(loop)) return;
      work.end(cycleId, key);
      m.symbolDuration.observe({ symbol: key }, durationMs / 1000);
      m.latency.record(durationMs, false);
      m.skipped.inc({ symbol: key, reason: failureReason(error) });
      const breaker = rejectingBreaker(error);
      if (breaker) m.breakerRejected.inc({ breaker });
    }),
    bus.on('item.skipped', ({ loop, key }) => {
      if (mine(loop)) m.skipped.inc({ symbol: key, reason: 'locked' });
    }),
    bus.on('cycle.finished', ({ loop, cycleId, outcome, durationMs, counts }) => {
      if (!mine(loop)) return;
      work.endCycle(cycleId);
      if (outcome.kind === 'running' || outcome.kind === 'skipped') return;
      if (outcome.kind === 'failed') m.cycleFailures.inc();
      m.lastCycleSignals.set(counts.succeeded);
      m.cycleDuration.observe(durationMs / 1000);
    }),
    bus.on('cycle.skipped', ({ loop, reason }) => {
      if (!mine(loop)) return;
      const cls = skipReasonClass(reason);
      if (cls === 'breaker' || /breaker/i.test(reason)) m.skippedCircuitOpen.inc();
      else if (cls === 'latency') m.skippedHighLatency.inc();
    }),
    bus.on('lease.recovered', ({ key }) => {
      const slash = key.indexOf('/');
      if (slash > 0 && mine(key.slice(0, slash))) {
        m.staleLocks.inc({ symbol: key.slice(slash + 1), reason: 'lease_expired' });
      }
    }),
    bus.on('backpressure.cooldown', ({ loop }) => {
      if (mine(loop)) m.cooldowns.inc();
    }),
    bus.on('loop.concurrency', ({ loop, limit }) => {
      if (mine(loop)) m.batchSize.set(limit);
    }),
    bus.on('breaker.state', ({ breaker, from, to }) => {
      const state = to.replace('-', '_');
      m.breakerState.remove({ breaker, state: from.replace('-', '_') });
      m.breakerState.set({ breaker, state }, BREAKER_STATE_VALUE[state] ?? 1);
    }),
  ];

  let disposed = false;
  return {
    registry: options.registry,
    observeStage(end) {
      fedByStages = true;
      if (end.kind === 'llm' && mine(end.loop)) m.llmLatency.observe(end.durationMs);
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const subscription of subscriptions) subscription.dispose();
    },
  };
}

/** Why an item produced no signal, as a label of bounded cardinality. */
export function failureReason(error: ErrorInfo): string {
  switch (error.name) {
    case 'TimeoutError':
      return 'timeout';
    case 'BreakerOpenError':
      return 'breaker_open';
    case 'StageError':
      return 'stage_failed';
    case 'ShutdownError':
      return 'shutdown';
    default:
      return 'error';
  }
}

/** The breaker that rejected the call, when the error is (or wraps) a BreakerOpenError. */
function rejectingBreaker(error: ErrorInfo): string | undefined {
  if (error.name !== 'BreakerOpenError' && !error.message.includes('BreakerOpenError')) return undefined;
  return /circuit breaker "([^"]+)"/.exec(error.message)?.[1] ?? 'unknown';
}

function defineSeries(registry: Registry, latencyP95Ms: (() => number) | undefined) {
  const registers = [registry];
  const latency = new LatencyTracker({ window: 10 });
  return {
    latency,
    generated: new Counter({
      name: 'signal_generation_total',
      help: 'Signals generated (stored), by symbol and action.',
      labelNames: ['symbol', 'action'] as const,
      registers,
    }),
    skipped: new Counter({
      name: 'signal_generation_skipped_total',
      help: 'Symbols that produced no signal in a cycle, by symbol and reason (locked: still processing elsewhere; timeout, breaker_open, stage_failed, shutdown, error).',
      labelNames: ['symbol', 'reason'] as const,
      registers,
    }),
    cycleFailures: new Counter({ name: 'cycle_failures_total', help: 'Signal cycles that failed.', registers }),
    skippedCircuitOpen: new Counter({
      name: 'cycles_skipped_circuit_open_total',
      help: 'Signal cycles skipped because a circuit breaker was open.',
      registers,
    }),
    skippedHighLatency: new Counter({
      name: 'cycles_skipped_high_latency_total',
      help: 'Signal cycles skipped because p99 latency was above its bar.',
      registers,
    }),
    staleLocks: new Counter({
      name: 'stale_locks_recovered_total',
      help: 'Symbol leases of a crashed or stalled holder that were taken over after they expired.',
      labelNames: ['symbol', 'reason'] as const,
      registers,
    }),
    breakerRejected: new Counter({
      name: 'circuit_breaker_rejected_total',
      help: 'Symbol attempts an open (or saturated half-open) circuit breaker rejected.',
      labelNames: ['breaker'] as const,
      registers,
    }),
    cooldowns: new Counter({
      name: 'backpressure_cooldowns_total',
      help: 'Backpressure cooldowns entered after consecutive overrunning signal cycles.',
      registers,
    }),
    lastCycleSignals: new Gauge({
      name: 'signals_generated_last_cycle',
      help: 'Signals generated by the last signal cycle that ran.',
      registers,
    }),
    activeLocks: new Gauge({
      name: 'active_locks',
      help: 'Symbols whose lease is held now (from their first attempt to their result).',
      registers,
    }),
    processing: new Gauge({ name: 'symbols_processing', help: 'Symbol attempts running now.', registers }),
    breakerState: new Gauge({
      name: 'circuit_breaker_state',
      help: "Each breaker's current state: 0 closed, 0.5 half_open, 1 open (one series per breaker, the current state's).",
      labelNames: ['breaker', 'state'] as const,
      registers,
    }),
    batchSize: new Gauge({
      name: 'adaptive_batch_size',
      help: 'Symbols processed at once now (the adaptive concurrency limit).',
      registers,
    }),
    p95: new Gauge({
      name: 'current_p95_latency_ms',
      help: 'p95 of recent symbol latencies, in ms.',
      registers,
      collect() {
        this.set(latencyP95Ms ? latencyP95Ms() : latency.p95);
      },
    }),
    cycleDuration: new Histogram({
      name: 'cycle_duration_seconds',
      help: 'Duration of signal cycles that ran.',
      buckets: [...CYCLE_DURATION_BUCKETS],
      registers,
    }),
    symbolDuration: new Histogram({
      name: 'symbol_processing_duration_seconds',
      help: 'Time from a symbol starting to its result, across attempts.',
      labelNames: ['symbol'] as const,
      buckets: SYMBOL_DURATION_BUCKETS,
      registers,
    }),
    llmLatency: new Histogram({
      name: 'llm_latency_ms',
      help: 'Latency of LLM stage calls, in ms.',
      buckets: LLM_LATENCY_BUCKETS_MS,
      registers,
    }),
  };
}

/**
 * Which symbols hold their lease (between their first start and their final
 * event) and which are running an attempt, per cycle, so neither gauge can
 * drift: a repeated event changes nothing, and a finished cycle clears what
 * it left behind.
 */
class WorkTracker {
  /** cycleId -> key -> running an attempt now. */
  readonly #items = new Map<string, Map<string, boolean>>();

  constructor(
    readonly locks: Gauge,
    readonly processing: Gauge,
  ) {}

  start(cycleId: string, key: string): void {
    let keys = this.#items.get(cycleId);
    if (!keys) {
      keys = new Map();
      this.#items.set(cycleId, keys);
    }
    const running = keys.get(key);
    if (running === undefined) this.locks.inc();
    if (running !== true) this.processing.inc();
    keys.set(key, true);
  }

  attemptEnded(cycleId: string, key: string): void {
    const keys = this.#items.get(cycleId);
    if (keys?.get(key) !== true) return;
    keys.set(key, false);
    this.processing.dec();
  }

  end(cycleId: string, key: string): void {
    const keys = this.#items.get(cycleId);
    const running = keys?.get(key);
    if (!keys || running === undefined) return;
    keys.delete(key);
    if (keys.size === 0) this.#items.delete(cycleId);
    this.locks.dec();
    if (running) this.processing.dec();
  }

  endCycle(cycleId: string): void {
    const keys = this.#items.get(cycleId);
    if (!keys) return;
    for (const key of [...keys.keys()]) this.end(cycleId, key);
  }
}

/** `llm_latency_ms` from a signal's stages: those that name a model (LLM answers folded in by signalLlmStage). */
function observeLlmStages(stages: unknown, histogram: { observe(ms: number): void }): void {
  if (!Array.isArray(stages)) return;
  for (const stage of stages as Array<{ durationMs?: unknown; output?: { model?: unknown } }>) {
    if (typeof stage?.durationMs === 'number' && typeof stage.output?.model === 'string')
      histogram.observe(stage.durationMs);
  }
}
