/**
 * Faults of a simulation: presets, the fault file format (YAML or JSON, a
 * list under `faults:`; see docs/simulate.md), and the seeded timeline a
 * plan turns into. Faults at a rate draw exponential gaps, so the same seed
 * gives the same timeline and another seed another one.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../config/config-error.ts';
import { type FaultSpec, faultSpecSchema } from '../config/simulate-schema.ts';
import { validate } from '../config/zod-issues.ts';
import { exponentialGap, inRange } from './distribution.ts';

/** One fault, placed in time. `instance` is 1-based; for crash and freeze it is drawn when the spec names none. */
export type FaultEvent =
  | { kind: 'crash'; at: number; instance: number | null; restartAfterMs: number | null }
  | { kind: 'store-outage'; at: number; forMs: number }
  | { kind: 'dependency'; at: number; target: string | null; forMs: number; slowdown: number; failureRate: number }
  | { kind: 'freeze'; at: number; instance: number | null; forMs: number }
  | { kind: 'service-crash'; at: number; target: string | null }
  | { kind: 'service-leak'; at: number; target: string | null; perMinute: number };

/** Fault kinds that hit supervised services: left out of the timeline of a config with no `services:`. */
export const SERVICE_FAULTS: ReadonlySet<FaultSpec['kind']> = new Set(['service-crash', 'service-leak']);

const s = 1_000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;

/**
 * `chaos-light`: what a healthy month looks like (a crash every 12 h, a
 * store blip every 3 days, a degraded dependency once a day, a short freeze
 * every 2 days). `chaos-heavy`: a bad month (hourly crashes, store outages
 * of up to 2 minutes every 6 h, a dependency failing half its calls every
 * 4 h, freezes past the lease TTL). `none`: no faults.
 */
export const FAULT_PRESETS: Readonly<Record<string, readonly FaultSpec[]>> = {
  none: [],
  'chaos-light': [
    { kind: 'crash', every: 12 * h, restartAfter: { minMs: 10 * s, maxMs: 60 * s } },
    { kind: 'store-outage', every: 3 * d, for: { minMs: 5 * s, maxMs: 30 * s } },
    { kind: 'dependency', every: d, for: { minMs: 5 * m, maxMs: 20 * m }, slowdown: 2, failureRate: 0.1 },
    { kind: 'freeze', every: 2 * d, for: { minMs: 1 * s, maxMs: 5 * s } },
    { kind: 'service-crash', every: d },
    { kind: 'service-leak', every: 7 * d, perMinute: 20 * 1024 ** 2 },
  ],
  'chaos-heavy': [
    { kind: 'crash', every: h, restartAfter: { minMs: 5 * s, maxMs: 2 * m } },
    { kind: 'store-outage', every: 6 * h, for: { minMs: 10 * s, maxMs: 2 * m } },
    { kind: 'dependency', every: 4 * h, for: { minMs: 10 * m, maxMs: h }, slowdown: 4, failureRate: 0.5 },
    { kind: 'freeze', every: 6 * h, for: { minMs: 5 * s, maxMs: 60 * s } },
    { kind: 'service-crash', every: 2 * h },
    { kind: 'service-leak', every: d, perMinute: 100 * 1024 ** 2 },
  ],
};

const faultFileSchema = z.strictObject({ faults: z.array(faultSpecSchema) });

/**
 * The faults `source` names: a preset name, or a YAML/JSON file (relative
 * to `cwd`) holding `faults: [...]`. Throws a ConfigError naming the file,
 * the path and what was expected.
 */
export async function loadFaults(source: string, cwd: string): Promise<{ name: string; faults: readonly FaultSpec[] }> {
  const preset = FAULT_PRESETS[source];
  if (preset) return { name: source, faults: preset };
  const file = resolve(cwd, source);
  const text = await readFile(file, 'utf8').catch(() => {
    const presets = Object.keys(FAULT_PRESETS).join(', ');
    const got = JSON.stringify(source);
    throw new ConfigError([
      { file: 'command line', path: 'faults', expected: `a preset (${presets}) or a readable fault file`, got },
    ]);
  });
  let data: unknown;
  try {
    data = parseYaml(text); // YAML is a superset of JSON
  } catch (error) {
    const got = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ConfigError([{ file: source, path: '', expected: 'YAML or JSON', got: got ?? '' }]);
  }
  const checked = validate(faultFileSchema, data, source);
  if (!checked.ok) throw new ConfigError(checked.issues);
  return { name: source, faults: checked.value.faults };
}

/**
 * Throws a ConfigError naming each service fault whose `target` is not a
 * service of the config (`source` names where the faults came from), so a
 * typo is not a month of "no running copy" lines.
 */
export function checkServiceTargets(faults: readonly FaultSpec[], services: readonly string[], source: string): void {
  const issues = faults.flatMap((fault, i) =>
    SERVICE_FAULTS.has(fault.kind) &&
    'target' in fault &&
    fault.target !== undefined &&
    !services.includes(fault.target)
      ? [
          {
            file: source,
            path: `faults[${i}].target`,
            expected:
              services.length > 0 ? `a service of the config (${services.join(', ')})` : 'a config with `services:`',
            got: JSON.stringify(fault.target),
          },
        ]
      : [],
  );
  if (issues.length > 0) throw new ConfigError(issues);
}

/**
 * Places `faults` in [0, durationMs): scheduled ones at their `at`,
 * rate-based ones at exponential gaps; durations and restart delays drawn
 * in their ranges. Sorted by time, ties in spec order. Deterministic in `random`.
 */
export function faultTimeline(faults: readonly FaultSpec[], durationMs: number, random: () => number): FaultEvent[] {
  const events: Array<FaultEvent & { order: number }> = [];
  faults.forEach((spec, order) => {
    const times: number[] = [];
    if (spec.at !== undefined) {
      if (spec.at < durationMs) times.push(spec.at);
    } else if (spec.every !== undefined) {
      for (
        let t = exponentialGap(spec.every, random);
        t < durationMs;
        t += Math.max(1, exponentialGap(spec.every, random))
      ) {
        times.push(t);
      }
    }
    for (const at of times) events.push({ ...place(spec, at, random), order });
  });
  events.sort((a, b) => a.at - b.at || a.order - b.order);
  return events.map(({ order: _, ...event }) => event as FaultEvent);
}

function place(spec: FaultSpec, at: number, random: () => number): FaultEvent {
  switch (spec.kind) {
    case 'crash':
      return {
        kind: 'crash',
        at,
        instance: spec.instance ?? null,
        restartAfterMs: spec.restartAfter ? inRange(spec.restartAfter, random) : null,
      };
    case 'store-outage':
      return { kind: 'store-outage', at, forMs: inRange(spec.for, random) };
    case 'dependency':
      return {
        kind: 'dependency',
        at,
        target: spec.target ?? null,
        forMs: inRange(spec.for, random),
        slowdown: spec.slowdown ?? 1,
        failureRate: spec.failureRate ?? 0,
      };
    case 'freeze':
      return { kind: 'freeze', at, instance: spec.instance ?? null, forMs: inRange(spec.for, random) };
    case 'service-crash':
      return { kind: 'service-crash', at, target: spec.target ?? null };
    case 'service-leak':
      return { kind: 'service-leak', at, target: spec.target ?? null, perMinute: spec.perMinute };
  }
}
