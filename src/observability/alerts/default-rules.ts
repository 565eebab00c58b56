/**
 * Seed 002's seven Prometheus alerts, expressed over autoloop's metric names
 * and included only for the loops and dependencies that use the matching
 * feature. How each maps:
 *
 * | seed alert              | seed expression                                   | autoloop rule                                                                                                                                                     |
 * | ----------------------- | ------------------------------------------------- | ----------------------------------------------------------------------------------------------------------------------------------------------------------------- |
 * | SignalGenerationDelayed | time() - last_cycle_timestamp > 120, for 2m       | AutoloopCycleDelayed, per scheduled loop: seconds since its last cycle that ran (`autoloop_last_cycle_timestamp_seconds{outcome!="skipped"}`, youngest outcome) > max(120, 2 periods), for 2m. The seed's loop ran every minute, so 120 s was two periods; a fixed 120 s would fire forever for an hourly loop. Manual loops have no schedule to be late for. |
 * | HighSkipRate            | rate(signal_generation_skipped_total[5m]) > 0.3   | AutoloopHighSkipRate, every loop: the share of ticks skipped over 5m > 0.3, for 5m. The seed's summary and thresholds table mean a share ("30% of symbols"); a per-second rate above 0.3 is unreachable for minute-scale loops. Skips by choice or by peers (`paused`, `missed` after downtime, `duplicate_tick`: another process ran it) are left out of both sides. |
 * | CircuitBreakerOpen      | circuit_breaker_state{state="open"} == 1, for 1m  | AutoloopCircuitBreakerOpen, when a dependency has a breaker: `autoloop_breaker_state == 1` (1 is open; 0.5 half-open), for 1m, critical.                             |
 * | HighLatencyMode         | current_p95_latency_ms > 8000, for 5m             | AutoloopHighLatencyMode, per adaptive loop: the p95 of its attempt latencies over 5m (`histogram_quantile` of `autoloop_item_attempt_duration_seconds`) above that loop's own p95 bar (`policies.adaptive.p95`, 8 s by default as in the seed), for 5m. The seed's gauge was a precomputed p95 of the last 10 calls (the recipe keeps it as `current_p95_latency_ms`); a quantile of a histogram aggregates across instances. |
 * | BackpressureCooldown    | increase(backpressure_cooldowns[10m]) > 2         | AutoloopBackpressureCooldown, when a loop has backpressure on: `increase(autoloop_backpressure_cooldowns_total[10m]) > 2` per loop, at once.                      |
 * | StaleLockRecoveryHigh   | rate(stale_locks_recovered[15m]) > 0.1            | AutoloopStaleLeaseRecoveryHigh, when a loop takes leases: `rate(autoloop_stale_leases_recovered_total[15m]) > 0.1`, at once. The seed's table says 0.1/min, its rule 0.1/s; the rule is kept. |
 * | CycleFailureRateHigh    | rate(cycle_failures_total[15m]) > 0.2             | AutoloopCycleFailureRateHigh, every loop: failed cycles / cycles that ran over 15m > 0.2, critical, at once ("more than 20% of cycles failing", as its summary says). |
 *
 * Two more come with supervised services (`services:`), not from seed 002:
 * AutoloopServiceFailing (`autoloop_service_failing == 1`: an instance went
 * over its restart limit; critical, at once) whenever there are services,
 * and AutoloopServiceDiskLow (`autoloop_service_disk_level >= 1`: free space
 * of a watched path below `warnBelow` or `criticalBelow`; warning, at once)
 * when a service has `disk:`.
 *
 * All of them evaluate in the process that owns the registry: one process
 * sees only its own cycles. For fleets, export them (`autoloop alerts
 * export`) and let Prometheus aggregate across instances: every rule that
 * groups `by (loop)` drops the instance label there.
 */
import type { ResolvedDependency, ResolvedLoop } from '../../core/loop.ts';
import { createTrigger, periodMs } from '../../scheduling/trigger.ts';
import { type AlertRule, buildAlertRule } from './alert-rule.ts';

/** What the default rules need to know about one loop. */
export interface AlertLoopFeatures {
  readonly name: string;
  /** Time between ticks; null for a manual loop. */
  readonly periodMs: number | null;
  /** The adaptive p95 bar, or null when the loop is not adaptive. */
  readonly latencyBarMs: number | null;
  readonly backpressure: boolean;
  readonly leases: boolean;
}

/** The features a deployment uses, which decide the default rules. */
export interface AlertFeatures {
  readonly loops: readonly AlertLoopFeatures[];
  /** Names of dependencies that have a circuit breaker. */
  readonly breakers: readonly string[];
  /** Names of supervised services (`services:`); absent or empty: none. */
  readonly services?: readonly string[];
  /** Whether any service watches a disk (`services.<name>.disk`). */
  readonly diskWatch?: boolean;
}

/** What the default rules need to know about one supervised service. */
export interface AlertServiceFeatures {
  readonly name: string;
  /** Its `disk:` watch, or null. */
  readonly disk: unknown;
}

/** The skip reason classes that are not trouble: chosen (paused), before this process ran (missed), or by a peer (duplicate tick). */
const BENIGN_SKIPS = 'duplicate_tick|paused|missed';

/**
 * The features of resolved loops and dependencies; `now` picks the period of
 * cron loops (the gap between their next two ticks).
 */
export function alertFeatures(
  loops: readonly ResolvedLoop[],
  dependencies: readonly ResolvedDependency[],
  now: number,
  services: readonly AlertServiceFeatures[] = [],
): AlertFeatures {
  return {
    ...(services.length > 0 && {
      services: services.map((s) => s.name),
      diskWatch: services.some((s) => s.disk !== null && s.disk !== undefined),
    }),
    loops: loops.map((loop) => ({
      name: loop.name,
      periodMs: periodMs(createTrigger(loop.trigger), now) ?? null,
      latencyBarMs: loop.policies.adaptive?.p95BarMs ?? null,
      backpressure: loop.policies.backpressure !== null,
      leases: loop.policies.lease,
    })),
    breakers: dependencies.filter((d) => d.breaker !== null).map((d) => d.name),
  };
}

/**
 * Seed 002's alerts for these features (see the table above). With one loop
 * that uses every feature and one breaker, exactly seven rules.
 *
 * @example
 * defaultAlertRules(alertFeatures(config.loops, config.dependencies, clock.now()))
 */
export function defaultAlertRules(features: AlertFeatures): AlertRule[] {
  const { loops, breakers } = features;
  const rules: AlertRule[] = [];
  for (const loop of loops) if (loop.periodMs !== null) rules.push(cycleDelayed(loop.name, loop.periodMs));
  if (loops.length > 0) rules.push(highSkipRate());
  if (breakers.length > 0) rules.push(circuitBreakerOpen());
  for (const loop of loops) if (loop.latencyBarMs !== null) rules.push(highLatency(loop.name, loop.latencyBarMs));
  if (loops.some((loop) => loop.backpressure)) rules.push(backpressureCooldown());
  if (loops.some((loop) => loop.leases)) rules.push(staleLeaseRecovery());
  if (loops.length > 0) rules.push(cycleFailureRate());
  if ((features.services?.length ?? 0) > 0) rules.push(serviceFailing());
  if (features.diskWatch) rules.push(serviceDiskLow());
  return rules;
}

/**
 * The rules an evaluator runs: the defaults (unless `defaults` is false)
 * with any default replaced by a user rule of the same name, then the user's.
 */
export function alertRules(
  settings: { readonly defaults: boolean; readonly rules: readonly AlertRule[] },
  features: AlertFeatures,
): AlertRule[] {
  const own = new Set(settings.rules.map((rule) => rule.name));
  const defaults = settings.defaults ? defaultAlertRules(features).filter((rule) => !own.has(rule.name)) : [];
  return [...defaults, ...settings.rules];
}

function cycleDelayed(loop: string, period: number): AlertRule {
  const threshold = Math.max(120, Math.ceil((2 * period) / 1000));
  return buildAlertRule({
    name: 'AutoloopCycleDelayed',
    metric: 'autoloop_last_cycle_timestamp_seconds',
    labels: { loop, outcome: '!=skipped' },
    function: 'age',
    by: ['loop'],
    op: '>',
    threshold,
    forMs: 2 * 60_000,
    severity: 'warning',
    summary: `Loop {{ $labels.loop }} last ran a cycle {{ $value }}s ago (its schedule allows ${threshold}s)`,
  });
}

function highSkipRate(): AlertRule {
  const skipped = { metric: 'autoloop_cycles_skipped_total', labels: { reason: `!~${BENIGN_SKIPS}` } };
  return buildAlertRule({
    name: 'AutoloopHighSkipRate',
    ...skipped,
    function: 'rate',
    windowMs: 5 * 60_000,
    by: ['loop'],
    divideBy: [{ metric: 'autoloop_cycles_total', labels: { outcome: '!=skipped' } }, skipped],
    op: '>',
    threshold: 0.3,
    forMs: 5 * 60_000,
    severity: 'warning',
    summary: 'More than 30% of loop {{ $labels.loop }} ticks are skipped (share {{ $value }})',
  });
}

function circuitBreakerOpen(): AlertRule {
  return buildAlertRule({
    name: 'AutoloopCircuitBreakerOpen',
    metric: 'autoloop_breaker_state',
    op: '==',
    threshold: 1,
    forMs: 60_000,
    severity: 'critical',
    summary: 'Circuit breaker {{ $labels.breaker }} is open; cycles of loops using it are skipped',
  });
}

function highLatency(loop: string, barMs: number): AlertRule {
  return buildAlertRule({
    name: 'AutoloopHighLatencyMode',
    metric: 'autoloop_item_attempt_duration_seconds',
    labels: { loop },
    function: 'quantile',
    quantile: 0.95,
    windowMs: 5 * 60_000,
    by: ['loop'],
    op: '>',
    threshold: barMs / 1000,
    forMs: 5 * 60_000,
    severity: 'warning',
    summary: `Loop {{ $labels.loop }} p95 attempt latency is {{ $value }}s (bar ${barMs / 1000}s); concurrency is reduced`,
  });
}

function backpressureCooldown(): AlertRule {
  return buildAlertRule({
    name: 'AutoloopBackpressureCooldown',
    metric: 'autoloop_backpressure_cooldowns_total',
    function: 'increase',
    windowMs: 10 * 60_000,
    op: '>',
    threshold: 2,
    severity: 'warning',
    summary: 'Loop {{ $labels.loop }} entered {{ $value }} backpressure cooldowns in 10m: cycles outlast its period',
  });
}

function staleLeaseRecovery(): AlertRule {
  return buildAlertRule({
    name: 'AutoloopStaleLeaseRecoveryHigh',
    metric: 'autoloop_stale_leases_recovered_total',
    function: 'rate',
    windowMs: 15 * 60_000,
    op: '>',
    threshold: 0.1,
    severity: 'warning',
    summary: 'Stale leases recovered at {{ $value }}/s: processes may be crashing or losing the store',
  });
}

function cycleFailureRate(): AlertRule {
  return buildAlertRule({
    name: 'AutoloopCycleFailureRateHigh',
    metric: 'autoloop_cycles_total',
    labels: { outcome: 'failed' },
    function: 'rate',
    windowMs: 15 * 60_000,
    by: ['loop'],
    divideBy: [{ metric: 'autoloop_cycles_total', labels: { outcome: '!=skipped' } }],
    op: '>',
    threshold: 0.2,
    severity: 'critical',
    summary: 'More than 20% of loop {{ $labels.loop }} cycles failed in 15m (share {{ $value }})',
  });
}

function serviceFailing(): AlertRule {
  return buildAlertRule({
    name: 'AutoloopServiceFailing',
    metric: 'autoloop_service_failing',
    op: '==',
    threshold: 1,
    severity: 'critical',
    summary:
      'Service {{ $labels.service }} instance {{ $labels.instance }} restarted more often than its restart limit allows; it keeps being restarted at the backoff cap',
  });
}

function serviceDiskLow(): AlertRule {
  return buildAlertRule({
    name: 'AutoloopServiceDiskLow',
    metric: 'autoloop_service_disk_level',
    op: '>=',
    threshold: 1,
    severity: 'warning',
    summary:
      'Free space of {{ $labels.path }} (service {{ $labels.service }}) is below its threshold (level {{ $value }}: 1 warning, 2 critical)',
  });
}
