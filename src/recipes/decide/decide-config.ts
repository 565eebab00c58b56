/**
 * `recipe: decide` in autoloop.yaml: seed 001's autonomous decision engine
 * over autoloop's own loops (see docs/configuration.md, "decide"):
 *
 * ```yaml
 * loops:
 *   autopilot:
 *     recipe: decide
 *     interval: 30s               # `auto loop --interval 30`
 *     targets: [fetch]            # loops it senses and may scale
 *     sources: { coordination: ./coordination }   # the seed's directory, optional; also prometheus,
 *                                                 # sensors (TS/command: custom-sensors.ts), readings
 *     minConfidence: 0.6          # DSLMODEL_AUTO_MIN_CONFIDENCE
 *     max: 3                      # `auto execute --max 3`
 *     dryRun: false               # DSLMODEL_AUTO_DRY_RUN
 *     agents: { min: 1, max: 10 } # concurrency bounds; max is DSLMODEL_AUTO_MAX_AGENTS
 *     scaleFactor: 1              # DSLMODEL_AUTO_SCALE_FACTOR
 *     window: 5                   # samples for full confidence support
 *     verify: { after: 1m, margin: 0.05 }   # re-score, roll back when worse (false: off)
 *     score: { weights: {...}, normalisers: {...}, thresholds: {...} }   # defaults: the seed's
 *     minInterval: 1m             # anti-flap: at most one executed decision per target per interval
 *     rules: [...]                # user rules (user-rules.ts; TS ones: user-modules.ts); defaultRules: false drops the seed's four
 * ```
 */
import { z } from 'zod';
import { moduleRef } from '../../config/file-schema.ts';
import { durationMs } from '../../config/schema.ts';
import { SEED_RULES } from './decision-rules.ts';
import { READING_VALUES } from './user-rules.ts';

const unit = z.number().min(0).max(1);
const positive = z.number().positive();

/**
 * The seed's environment knobs arrive through `${VAR:-default}`, which the
 * config loader converts to numbers only for its own keys, not a recipe's:
 * these keys take the numeric (or `true`/`false`) text too.
 */
function knob<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => {
    if (typeof v !== 'string') return v;
    const t = v.trim();
    if (/^[+-]?\d+(\.\d+)?$/.test(t)) return Number(t);
    if (t === 'true' || t === 'false') return t === 'true';
    return v;
  }, schema);
}

const bar = z.number().refine(Number.isFinite, { error: 'expected a finite number' });
const conditionSchema = z
  .strictObject({
    value: z.string().min(1),
    above: bar.optional(),
    below: bar.optional(),
    atLeast: bar.optional(),
    atMost: bar.optional(),
  })
  .refine((c) => [c.above, c.below, c.atLeast, c.atMost].some((b) => b !== undefined), {
    error: 'a bar: above, below, atLeast or atMost',
  });

const actionSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.enum(['scale_up', 'scale_down']), amount: z.number().int().min(1).default(1) }),
  z.strictObject({ type: z.enum(['pause', 'resume', 'run_now']) }),
  z.strictObject({ type: z.literal('webhook'), url: z.url({ protocol: /^https?$/ }) }),
  z.strictObject({ type: z.literal('command'), run: z.string().min(1) }),
  z.strictObject({
    type: z.literal('rate_limit'),
    /** A dependency of the config with a `rateLimit`. */
    dependency: z.string().min(1),
    requests: z.number().int().min(1),
    per: durationMs({ minMs: 1 }),
  }),
  z
    .strictObject({
      type: z.literal('scale_service'),
      /** A service of the config's `services:`. */
      service: z.string().min(1),
      /** The count to run, or `by`: the count now plus (or minus) this many. */
      instances: z.number().int().min(1).max(64).optional(),
      by: z
        .number()
        .int()
        .refine((n) => n !== 0, { error: 'a step other than 0' })
        .optional(),
    })
    .refine((a) => (a.instances === undefined) !== (a.by === undefined), {
      error: 'one of instances (the count to run) or by (a step, e.g. 1 or -1)',
    }),
]);

/** A TS rule: `{ module: ./rules.ts#slowFetch }` (user-modules.ts); its name defaults to the export's. */
const moduleRuleSchema = z.strictObject({ name: z.string().min(1).optional(), module: moduleRef('rule') });

const hasModule = (v: unknown) => typeof v === 'object' && v !== null && 'module' in v;

const valueName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
  error: 'a name of letters, digits and _ (not starting with a digit)',
});

/** A TS sensor (`module`) or a command sensor (`command`): named numbers, read once per cycle. */
const sensorSchema = z.union(
  [
    z.strictObject({ module: moduleRef('read'), timeout: durationMs({ minMs: 1 }).default(5_000) }),
    z.strictObject({ command: z.string().trim().min(1), timeout: durationMs({ minMs: 1 }).default(5_000) }),
  ],
  { error: 'a sensor like { module: "./sensors.ts#read" } or { command: "./bin/read-backlog", timeout: 5s }' },
);

/** The four readings the score is made of, which `sources.readings` may take from a named value. */
export const SCORE_READINGS = ['completionRate', 'activeAgents', 'workQueueSize', 'telemetryVolume'] as const;

const ruleSchema = z.strictObject({
  name: z.string().min(1).optional(),
  target: z.string().min(1),
  when: z.array(conditionSchema).min(1),
  do: actionSchema,
  /** The runtime's priorities: 0 critical ... 3 low. */
  priority: z.number().int().min(0).max(3).default(2),
});

export const decideConfigSchema = z
  .strictObject({
    description: z.string().optional(),
    interval: durationMs({ minMs: 1 }).optional(),
    targets: z.array(z.string().min(1)).default([]),
    sources: z
      .strictObject({
        /** Sense the targets' runtime telemetry. Default true. */
        loops: z.boolean().default(true),
        /** The seed's coordination directory (relative to the config file). */
        coordination: z.string().min(1).optional(),
        /** A Prometheus server's HTTP API: instant queries by name (prometheus-sensor.ts). */
        prometheus: z
          .strictObject({
            url: z.url({ protocol: /^https?$/ }),
            timeout: durationMs({ minMs: 1 }).default(5_000),
            queries: z.record(valueName, z.string().min(1)),
          })
          .optional(),
        /** TS and command sensors by name; their numbers are values `<sensor>.<key>`. */
        sensors: z.record(valueName, sensorSchema).optional(),
        /** One of the four readings taken from a named value instead (a query, `<sensor>.<key>`), for the score and the seed's rules. */
        readings: z.partialRecord(z.enum(SCORE_READINGS), z.string().min(1)).optional(),
      })
      .default({ loops: true }),
    minConfidence: knob(unit).default(0.6),
    max: knob(z.number().int().min(0)).default(3),
    dryRun: knob(z.boolean()).default(false),
    agents: z
      .strictObject({
        min: z.number().int().min(1).default(1),
        max: z.number().int().min(1).default(SEED_RULES.maxAgents),
      })
      .refine((a) => a.min <= a.max, { error: 'agents.min must not exceed agents.max' })
      .default({ min: 1, max: SEED_RULES.maxAgents }),
    scaleFactor: knob(z.number().int().min(1)).default(1),
    window: z.number().int().min(1).default(5),
    /** Re-score an executed decision `after` later; undo it when health fell by more than `margin`. `false`: never. */
    verify: z
      .union([
        z.literal(false),
        z.strictObject({ after: durationMs({ minMs: 1 }).default(60_000), margin: unit.default(0.05) }),
      ])
      .default({ after: 60_000, margin: 0.05 }),
    /** Anti-flap: after an executed decision on a target, none other executes on it for this long. */
    minInterval: durationMs().default(60_000),
    /** Webhook and command effectors give up after this long. */
    effectorTimeout: durationMs({ minMs: 1 }).default(10_000),
    /** The seed's four rules (scale_up, scale_down, coordination_improve, optimize). */
    defaultRules: z.boolean().default(true),
    rules: z
      .array(
        // Each form sees only its own entries (with `module`, or without), so an error names the field, not "one of the forms".
        z.union([
          z.preprocess((v) => (hasModule(v) ? undefined : v), ruleSchema),
          z.preprocess((v) => (hasModule(v) ? v : undefined), moduleRuleSchema),
        ]),
      )
      .default([]),
    /** Journal entries kept per decide loop. */
    keep: z.number().int().min(1).default(1_000),
    score: z
      .strictObject({
        weights: z.strictObject({ completion: unit, agents: unit, queue: unit, telemetry: unit }).partial().optional(),
        normalisers: z.strictObject({ agents: positive, queue: positive, telemetry: positive }).partial().optional(),
        thresholds: z.strictObject({ critical: unit, degraded: unit, healthy: unit }).partial().optional(),
        /** A TS scorer replacing the weighted formula (user-modules.ts); must return a number in [0, 1]. */
        module: moduleRef('score').optional(),
      })
      .optional(),
  })
  .refine((c) => c.sources.loops === false || c.targets.length > 0 || c.sources.coordination !== undefined, {
    error: 'decide needs something to sense: `targets: [<loop>]` or `sources: { coordination: <dir> }`',
  })
  .superRefine((c, ctx) => {
    const sensed = [...(c.sources.loops ? c.targets : []), ...(c.sources.coordination ? ['coordination'] : [])];
    const queries = Object.keys(c.sources.prometheus?.queries ?? {});
    const sensors = Object.keys(c.sources.sensors ?? {});
    const known = (value: string, readings: readonly string[]) => {
      const [sensor, key, ...rest] = value.split('.');
      return key === undefined
        ? readings.includes(value) || queries.includes(value)
        : sensors.includes(sensor as string) && key !== '' && rest.length === 0;
    };
    const expected = (readings: readonly string[]) =>
      `${readings.length > 0 ? `a reading (${readings.join(', ')}), ` : ''}a query named in sources.prometheus.queries, or <sensor>.<key> of sources.sensors (${sensors.join(', ') || 'none'})`;
    for (const [reading, value] of Object.entries(c.sources.readings ?? {})) {
      if (!known(value, [])) {
        ctx.addIssue({ code: 'custom', path: ['sources', 'readings', reading], input: value, message: expected([]) });
      }
    }
    c.rules.forEach((rule, i) => {
      if (!('when' in rule)) return;
      if (!sensed.includes(rule.target)) {
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'target'],
          input: rule.target,
          message: `a sensed target (${sensed.join(', ') || 'none'}; add the loop to targets)`,
        });
      }
      rule.when.forEach((cond, j) => {
        if (!known(cond.value, READING_VALUES)) {
          ctx.addIssue({
            code: 'custom',
            path: ['rules', i, 'when', j, 'value'],
            input: cond.value,
            message: expected(READING_VALUES),
          });
        }
      });
    });
  });

export type DecideConfig = z.infer<typeof decideConfigSchema>;
