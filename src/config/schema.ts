/**
 * The zod pieces shared by YAML configs, TS configs and `defineLoop`:
 * durations, triggers, policies, loop names. Each piece validates the raw
 * value and outputs its resolved form (durations in ms, defaults filled).
 *
 * Every error message here is the "expected" half of the issue template
 * (see zod-issues.ts); "got" is filled in from the raw value.
 */
import type { z } from 'zod';
import {
  LOOP_DEFAULTS,
  type MissedPolicy,
  type OverlapPolicy,
  type ResolvedLoop,
  type ResolvedTrigger,
} from '../core/loop.ts';
import { cronClass } from '../scheduling/croner.ts';
import { cronZone } from '../scheduling/trigger.ts';
import { parseDuration } from '../time/duration.ts';
import { builtOnUse, type Zod, zod } from './zod-on-use.ts';

const DURATION_EXPECTED = 'a duration like "30s", "2m" or 1500 (ms)';

/**
 * A {@link parseDuration duration} (`"30s"`, `"1h30m"`, `1500`), output in
 * milliseconds. `minMs` rejects values below it, e.g. 1 for timeouts.
 */
export function durationMs(options: { minMs?: number } = {}) {
  const min = options.minMs ?? 0;
  const expected = min > 0 ? `${DURATION_EXPECTED} of at least ${min} ms` : DURATION_EXPECTED;
  const z = zod();
  return z.unknown().transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === undefined || ms < min) {
      ctx.addIssue({ code: 'custom', message: expected, input: value });
      return z.NEVER;
    }
    return ms;
  });
}

/**
 * The schemas of a loop's parts, built the first time they are asked for
 * (zod loads then; see zod-on-use.ts), the same objects after that.
 */
export const loopSchemas = builtOnUse(() => buildLoopSchemas(zod()));

function buildLoopSchemas(z: Zod) {
  return {
    loopName: loopNameSchema(z),
    trigger: triggerSchema(z),
    policies: policiesSchema(z),
    publish: publishSchema(z),
  };
}

/** A loop's name: used in URLs, metrics labels and tick ids. */
function loopNameSchema(z: Zod) {
  return z
    .string({ error: 'a loop name (letters, digits, "-" and "_", starting with a letter)' })
    .regex(/^[a-z][a-z0-9_-]*$/i, { error: 'a loop name (letters, digits, "-" and "_", starting with a letter)' });
}

const TRIGGER_EXPECTED = 'a trigger like { cron: "*/1 * * * *" }, { interval: 30s } or { manual: true }';
const TRIGGER_KINDS = ['cron', 'interval', 'manual'] as const;

interface TriggerInput {
  cron?: string | undefined;
  timezone?: string | undefined;
  interval?: number | undefined;
  manual?: true | undefined;
  overlap?: OverlapPolicy | undefined;
  missed?: MissedPolicy | undefined;
}

/**
 * A trigger: exactly one of `cron` (with optional `timezone`), `interval`
 * or `manual`, plus `overlap`. Cron expressions and time zones are checked
 * with croner, the library the scheduler uses, so what validates here runs.
 */
function triggerSchema(z: Zod) {
  const triggerInput = z.strictObject(
    {
      cron: z.string({ error: 'a cron expression like "*/1 * * * *"' }).optional(),
      timezone: z.string({ error: 'an IANA time zone like "UTC" or "Europe/Berlin"' }).optional(),
      interval: durationMs({ minMs: 1 }).optional(),
      manual: z.literal(true, { error: 'true (the loop runs only when asked)' }).optional(),
      overlap: z.enum(['skip', 'queue-one']).optional(),
      missed: z.enum(['skip', 'run-once']).optional(),
    },
    { error: (issue) => (issue.code === 'invalid_type' ? TRIGGER_EXPECTED : undefined) },
  );
  return triggerInput.transform((input, ctx) => {
    const kinds = TRIGGER_KINDS.filter((kind) => input[kind] !== undefined);
    if (kinds.length !== 1) {
      const got = kinds.length === 0 ? 'none of them' : `${kinds.join(' and ')} at once`;
      ctx.addIssue({ code: 'custom', message: 'exactly one of cron, interval or manual', params: { got } });
      return z.NEVER;
    }
    if (input.timezone !== undefined && input.cron === undefined) {
      const hint = 'timezone applies to cron triggers only';
      ctx.addIssue({ code: 'custom', path: ['timezone'], message: 'no timezone', params: { hint } });
      return z.NEVER;
    }
    const trigger = resolveTrigger(input, ctx);
    if (!trigger) return z.NEVER;
    return {
      trigger,
      overlap: (input.overlap ?? LOOP_DEFAULTS.overlap) as OverlapPolicy,
      missed: (input.missed ?? LOOP_DEFAULTS.missed) as MissedPolicy,
    };
  });
}

function resolveTrigger(input: TriggerInput, ctx: z.RefinementCtx): ResolvedTrigger | undefined {
  if (input.interval !== undefined) return Object.freeze({ kind: 'interval', everyMs: input.interval });
  if (input.manual) return Object.freeze({ kind: 'manual' });
  const timezone = input.timezone ?? LOOP_DEFAULTS.timezone;
  if (!isTimeZone(timezone)) {
    ctx.addIssue({ code: 'custom', path: ['timezone'], message: 'an IANA time zone like "UTC" or "Europe/Berlin"' });
    return undefined;
  }
  const expression = input.cron as string;
  const problem = cronProblem(expression, timezone);
  if (problem !== undefined) {
    const hint = problem.replace(/^Cron\w*:\s*/, '');
    ctx.addIssue({ code: 'custom', path: ['cron'], message: 'a cron expression like "*/1 * * * *"', params: { hint } });
    return undefined;
  }
  return Object.freeze({ kind: 'cron', expression, timezone });
}

function isTimeZone(name: string): boolean {
  if ('utcOffset' in cronZone(name)) return true; // UTC by one of its names: no time-zone data needed
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** Croner's complaint about `expression`, or undefined when it would schedule. */
function cronProblem(expression: string, timezone: string): string | undefined {
  try {
    const Cron = cronClass();
    new Cron(expression, { paused: true, ...cronZone(timezone) }).stop();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Item policies; output with {@link LOOP_DEFAULTS} filled in, durations in ms. */
function policiesSchema(z: Zod) {
  return z
    .strictObject({
      timeout: durationMs({ minMs: 1 }).optional(),
      retry: z
        .strictObject({
          attempts: z.number().int().min(1).optional(),
          backoff: durationMs().optional(),
          maxBackoff: durationMs().optional(),
        })
        .optional(),
      concurrency: z.number().int().min(1).optional(),
      lease: z.boolean().optional(),
      order: z.enum(['longest-first', 'plan']).optional(),
      uses: z.array(z.string().min(1)).optional(),
      adaptive: z
        .union([
          z.boolean(),
          z.strictObject({
            min: z.number().int().min(1).optional(),
            window: z.number().int().min(2).optional(),
            p95: durationMs({ minMs: 1 }).optional(),
            p99: durationMs({ minMs: 1 }).optional(),
            maxTimeout: durationMs({ minMs: 1 }).optional(),
          }),
        ])
        .optional(),
      backpressure: z
        .union([
          z.literal(false),
          z.strictObject({ after: z.number().int().min(1).optional(), cooldown: z.number().int().min(1).optional() }),
        ])
        .optional(),
    })
    .optional()
    .transform((input, ctx): ResolvedLoop['policies'] => {
      const baseMs = input?.retry?.backoff ?? LOOP_DEFAULTS.retry.baseMs;
      // The default cap grows with a long explicit backoff rather than contradict it.
      const maxMs = input?.retry?.maxBackoff ?? Math.max(LOOP_DEFAULTS.retry.maxMs, baseMs);
      const retry = { attempts: input?.retry?.attempts ?? LOOP_DEFAULTS.retry.attempts, baseMs, maxMs };
      if (retry.maxMs < retry.baseMs) {
        const message = `a maxBackoff of at least the backoff (${retry.baseMs} ms)`;
        ctx.addIssue({ code: 'custom', path: ['retry', 'maxBackoff'], message, params: { got: `${retry.maxMs} ms` } });
        return z.NEVER;
      }
      const timeoutMs = input?.timeout ?? LOOP_DEFAULTS.timeoutMs;
      const concurrency = input?.concurrency ?? LOOP_DEFAULTS.concurrency;
      const adaptive = resolveAdaptive(input?.adaptive, timeoutMs, concurrency);
      if (adaptive && adaptive.min > concurrency) {
        const message = `an adaptive min of at most the concurrency (${concurrency})`;
        ctx.addIssue({ code: 'custom', path: ['adaptive', 'min'], message, params: { got: String(adaptive.min) } });
        return z.NEVER;
      }
      const bp = input?.backpressure;
      return Object.freeze({
        timeoutMs,
        retry: Object.freeze(retry),
        concurrency,
        lease: input?.lease ?? LOOP_DEFAULTS.lease,
        order: input?.order ?? LOOP_DEFAULTS.order,
        uses: Object.freeze([...(input?.uses ?? [])]),
        adaptive,
        backpressure:
          bp === false
            ? null
            : Object.freeze({
                after: bp?.after ?? LOOP_DEFAULTS.backpressure.after,
                cooldownTicks: bp?.cooldown ?? LOOP_DEFAULTS.backpressure.cooldownTicks,
              }),
      });
    });
}

type AdaptiveInput =
  | boolean
  | { min?: number; window?: number; p95?: number; p99?: number; maxTimeout?: number }
  | undefined;

function resolveAdaptive(input: AdaptiveInput, timeoutMs: number, max: number): ResolvedLoop['policies']['adaptive'] {
  if (input === undefined || input === false) return null;
  const spec = input === true ? {} : input;
  const d = LOOP_DEFAULTS.adaptive;
  return Object.freeze({
    min: spec.min ?? Math.min(d.min, max),
    window: spec.window ?? d.window,
    p95BarMs: spec.p95 ?? d.p95BarMs,
    p99BarMs: spec.p99 ?? d.p99BarMs,
    maxTimeoutMs: spec.maxTimeout ?? Math.round(timeoutMs * 1.5),
  });
}

/** A function-valued field of a TS loop definition. */
export function functionSchema(what: string) {
  return zod().custom<(...args: never[]) => unknown>((value) => typeof value === 'function', { error: what });
}

const CHANNEL_EXPECTED = 'a pub/sub channel name like "channel:raw-signals" (no spaces)';

/**
 * A loop's `publish: { channel? }`: each succeeded item's result is published
 * as a `result.published` event and, with a channel, on Redis pub/sub.
 * Output: `{ channel }` (null: event only) frozen, or null when absent.
 */
function publishSchema(z: Zod) {
  return z
    .strictObject(
      {
        channel: z
          .string({ error: CHANNEL_EXPECTED })
          .regex(/^\S{1,256}$/, { error: CHANNEL_EXPECTED })
          .optional(),
      },
      {
        error: (issue) =>
          issue.code === 'invalid_type' ? 'a mapping like { channel: "channel:raw-signals" }' : undefined,
      },
    )
    .optional()
    .transform((input): ResolvedLoop['publish'] => (input ? Object.freeze({ channel: input.channel ?? null }) : null));
}
