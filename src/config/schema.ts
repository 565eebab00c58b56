/**
 * The zod pieces shared by YAML configs, TS configs and `defineLoop`:
 * durations, triggers, policies, loop names. Each piece validates the raw
 * value and outputs its resolved form (durations in ms, defaults filled).
 *
 * Every error message here is the "expected" half of the issue template
 * (see zod-issues.ts); "got" is filled in from the raw value.
 */
import { Cron } from 'croner';
import { z } from 'zod';
import {
  LOOP_DEFAULTS,
  type MissedPolicy,
  type OverlapPolicy,
  type ResolvedLoop,
  type ResolvedTrigger,
} from '../core/loop.ts';
import { parseDuration } from '../time/duration.ts';

const DURATION_EXPECTED = 'a duration like "30s", "2m" or 1500 (ms)';

/**
 * A {@link parseDuration duration} (`"30s"`, `"1h30m"`, `1500`), output in
 * milliseconds. `minMs` rejects values below it, e.g. 1 for timeouts.
 */
export function durationMs(options: { minMs?: number } = {}) {
  const min = options.minMs ?? 0;
  const expected = min > 0 ? `${DURATION_EXPECTED} of at least ${min} ms` : DURATION_EXPECTED;
  return z.unknown().transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === undefined || ms < min) {
      ctx.addIssue({ code: 'custom', message: expected, input: value });
      return z.NEVER;
    }
    return ms;
  });
}

/** A loop's name: used in URLs, metrics labels and tick ids. */
export const loopNameSchema = z
  .string({ error: 'a loop name (letters, digits, "-" and "_", starting with a letter)' })
  .regex(/^[a-z][a-z0-9_-]*$/i, { error: 'a loop name (letters, digits, "-" and "_", starting with a letter)' });

const TRIGGER_EXPECTED = 'a trigger like { cron: "*/1 * * * *" }, { interval: 30s } or { manual: true }';
const TRIGGER_KINDS = ['cron', 'interval', 'manual'] as const;

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

/**
 * A trigger: exactly one of `cron` (with optional `timezone`), `interval`
 * or `manual`, plus `overlap`. Cron expressions and time zones are checked
 * with croner, the library the scheduler uses, so what validates here runs.
 */
export const triggerSchema = triggerInput.transform((input, ctx) => {
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

function resolveTrigger(input: z.output<typeof triggerInput>, ctx: z.RefinementCtx): ResolvedTrigger | undefined {
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
    new Cron(expression, { paused: true, timezone }).stop();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Item policies; output with {@link LOOP_DEFAULTS} filled in, durations in ms. */
export const policiesSchema = z
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
    return Object.freeze({
      timeoutMs: input?.timeout ?? LOOP_DEFAULTS.timeoutMs,
      retry: Object.freeze(retry),
      concurrency: input?.concurrency ?? LOOP_DEFAULTS.concurrency,
      lease: input?.lease ?? LOOP_DEFAULTS.lease,
    });
  });

/** A function-valued field of a TS loop definition. */
export function functionSchema(what: string) {
  return z.custom<(...args: never[]) => unknown>((value) => typeof value === 'function', { error: what });
}
