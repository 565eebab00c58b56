/**
 * The `simulate:` and `slo:` keys of a config file (stage 2: validated,
 * durations in ms). `autoloop simulate` reads them; every other command
 * ignores them. See docs/simulate.md.
 *
 * ```yaml
 * simulate:
 *   loops:
 *     prices: { latency: { p50: 300ms, p99: 1.4s }, failureRate: 0.05, throttle: { every: 6h, for: 2m } }
 *   dependencies:
 *     llm_service: { latency: { p50: 2s, p99: 8s }, failureRate: 0.02 }
 *   faults: chaos-light          # a preset, a fault file, or a list of faults
 * slo: { lost: 0, duplicates: 0, takeover: 15s, ticksRun: 99.9% }
 * ```
 */
import { z } from 'zod';
import { lazySection } from './lazy-section.ts';
import { durationMs } from './schema.ts';
import { parseSize } from './services-schema.ts';
import { builtOnUse } from './zod-on-use.ts';

/**
 * The schemas of both sections, built on first use: only `autoloop simulate`
 * and a config that has one of them need them (lazy-section.ts).
 */
function buildSimulateSchemas() {
  const RANGE_EXPECTED = 'a duration like 30s, or a range like [10s, 2m]';

  /** `30s`, or `[10s, 2m]` (uniform in the range); ms. */
  const durationRange = z
    .union([z.tuple([durationMs(), durationMs()]), durationMs()], { error: RANGE_EXPECTED })
    .transform((value): { minMs: number; maxMs: number } =>
      Array.isArray(value)
        ? { minMs: Math.min(value[0], value[1]), maxMs: Math.max(value[0], value[1]) }
        : { minMs: value, maxMs: value },
    );

  /** How long an act (or a dependency call) takes. */
  const latencySchema = z.union(
    [
      z.strictObject({ fixed: durationMs() }).transform((l) => ({ kind: 'fixed' as const, ms: l.fixed })),
      z
        .strictObject({ min: durationMs(), max: durationMs() })
        .transform((l) => ({ kind: 'uniform' as const, minMs: Math.min(l.min, l.max), maxMs: Math.max(l.min, l.max) })),
      z
        .strictObject({ p50: durationMs({ minMs: 1 }), p99: durationMs({ minMs: 1 }) })
        .refine((l) => l.p99 >= l.p50, { error: 'p99 at least p50' })
        .transform((l) => ({ kind: 'lognormal' as const, p50Ms: l.p50, p99Ms: l.p99 })),
    ],
    { error: 'a latency like { p50: 200ms, p99: 2s }, { min: 50ms, max: 1.5s } or { fixed: 100ms }' },
  );

  const rate = z.number({ error: 'a number from 0 to 1' }).min(0).max(1);

  /** A model of the outside world an act talks to. */
  const actModelSchema = z.strictObject({
    latency: latencySchema.optional(),
    /** Fraction of calls that fail (after their latency). */
    failureRate: rate.optional(),
    /** 429 bursts: on average once `every`, lasting `for`, during which `rate` of calls are refused. */
    throttle: z.strictObject({ every: durationMs({ minMs: 1 }), for: durationRange, rate: rate.default(1) }).optional(),
    /** What a succeeded call returns (default `{ simulated: true }`). */
    output: z.unknown().optional(),
    /** Run the loop's own act (a TS function) instead of a model. Commands never run in a simulation. */
    real: z.boolean().optional(),
  });

  const faultTarget = { instance: z.number().int().min(1).optional() };
  const when = {
    /** Once, this long after the simulation starts. */
    at: durationMs().optional(),
    /** At a rate: on average once per `every` (exponential gaps, seeded). */
    every: durationMs({ minMs: 1_000 }).optional(),
  };

  /** A leak's growth per minute: `50MB`, `1G`, or bytes. */
  const leakRate = z.union([z.string(), z.number()]).transform((value, ctx) => {
    const size = parseSize(value);
    if (!size || !('bytes' in size)) {
      ctx.addIssue({ code: 'custom', message: 'a size per minute like "50MB" or "1GB"', input: value });
      return z.NEVER;
    }
    return size.bytes;
  });

  /** A service name (absent: a random running service). */
  const serviceTarget = { target: z.string().min(1).optional() };

  /** One entry of a fault file (or of `simulate.faults`). */
  const faultSpecSchema = z
    .discriminatedUnion(
      'kind',
      [
        z.strictObject({ kind: z.literal('crash'), ...when, ...faultTarget, restartAfter: durationRange.optional() }),
        z.strictObject({ kind: z.literal('store-outage'), ...when, for: durationRange }),
        z.strictObject({
          kind: z.literal('dependency'),
          ...when,
          /** A loop name or a dependency name; absent: every loop. */
          target: z.string().optional(),
          for: durationRange,
          slowdown: z.number().min(1).optional(),
          failureRate: rate.optional(),
        }),
        z.strictObject({ kind: z.literal('freeze'), ...when, ...faultTarget, for: durationRange }),
        z.strictObject({ kind: z.literal('service-crash'), ...when, ...serviceTarget }),
        z.strictObject({ kind: z.literal('service-leak'), ...when, ...serviceTarget, perMinute: leakRate }),
      ],
      { error: 'a fault with kind crash, store-outage, dependency, freeze, service-crash or service-leak' },
    )
    .refine((f) => (f.at === undefined) !== (f.every === undefined), {
      error: 'exactly one of `at` (once) or `every` (at a rate)',
    });

  const simulateSchema = z.strictObject({
    loops: z.record(z.string(), actModelSchema).default({}),
    dependencies: z.record(z.string(), actModelSchema).default({}),
    /** A preset (`chaos-light`, `chaos-heavy`, `none`), a fault file path, or the faults themselves. */
    faults: z.union([z.string().min(1), z.array(faultSpecSchema)]).optional(),
  });

  const percent = z.union([
    z
      .string()
      .regex(/^\d+(\.\d+)?%$/)
      // toPrecision: 99.9 / 100 is 0.9990000000000001, which a run of exactly 99.9% would miss.
      .transform((text) => Number((Number(text.slice(0, -1)) / 100).toPrecision(12))),
    z.number().min(0).max(1),
  ]);

  /** Service level objectives `autoloop simulate` checks; each key optional. */
  const sloSchema = z.strictObject({
    /** At most this many planned items never finished. */
    lost: z.number().int().min(0).optional(),
    /** At most this many items succeeded twice or more. */
    duplicates: z.number().int().min(0).optional(),
    /** Takeover after a crash (p99) within this. */
    takeover: durationMs().optional(),
    /** At least this fraction of due ticks ran (e.g. "99.9%" or 0.999). */
    ticksRun: percent.optional(),
    /** At most this many due ticks with no record at all (neither run nor skipped with a reason). */
    unexplained: z.number().int().min(0).optional(),
  });
  return { durationRange, latencySchema, actModelSchema, faultSpecSchema, simulateSchema, sloSchema };
}

type Built = ReturnType<typeof buildSimulateSchemas>;
const schemas = builtOnUse(buildSimulateSchemas);

export type LatencySpec = z.output<Built['latencySchema']>;
export type ActModelSpec = z.output<Built['actModelSchema']>;
export type FaultSpec = z.output<Built['faultSpecSchema']>;
export type ResolvedSimulateConfig = z.output<Built['simulateSchema']>;
export type ResolvedSlo = z.output<Built['sloSchema']>;

/** One fault of `simulate.faults` or of a fault file. */
export const faultSpecSchema = z.lazy(() => schemas().faultSpecSchema);

/** `simulate:` as a key of the settings: absent unless given. */
export const simulate = lazySection(
  () => schemas().simulateSchema.optional(),
  () => undefined,
);

/** `slo:` as a key of the settings: absent unless given. */
export const slo = lazySection(
  () => schemas().sloSchema.optional(),
  () => undefined,
);
