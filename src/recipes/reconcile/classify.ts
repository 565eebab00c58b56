/**
 * HAVE vs SHOULD: every expected entry is present, or a gap with a reason
 * and a priority.
 *
 * Reasons, checked in this order (the first that holds is the gap's):
 * - `missing`: no object has the key;
 * - `invalid`: the object is smaller than the source's `minSize`;
 * - `stale`: the first freshness rule that matches the entry says the
 *   object is older than its `maxAge` (by modification time).
 *
 * The priority is the first matching rule's, else the source's default.
 * A rule's `within` compares the entry's age: for an hourly entry the time
 * since its hour began; for a dated entry whole local days (today 0,
 * yesterday 1 day), so a 23- or 25-hour DST day never moves a date across a
 * rule. `since`/`until` compare its date. Entries without a date match only
 * rules without date conditions.
 */
import { PRIORITIES, type PriorityName } from '../../core/work-item.ts';
import { DAY_MS, isoDate, today } from './calendar.ts';
import type { CoverageSpec, RuleConditions, SourceSpec } from './coverage-spec.ts';
import { type ExpectedEntry, forEachExpected, type LoadedValues } from './expected-keys.ts';
import type { HaveIndex } from './have-index.ts';

export type GapReason = 'missing' | 'stale' | 'invalid';

/** One thing that should exist and does not (or not well enough). */
export interface Gap {
  readonly source: string;
  readonly key: string;
  readonly reason: GapReason;
  readonly priority: PriorityName;
  /** Why, for people: `412 bytes, below the minimum of 1000`. */
  readonly detail: string;
  /** `YYYY-MM-DD`, or null for an entry without a date. */
  readonly date: string | null;
  /** The fields its key was rendered from: the collector's `{placeholders}`. */
  readonly fields: Readonly<Record<string, string>>;
}

/** Per source: how much of what should exist does. */
export interface SourceCoverage {
  readonly source: string;
  readonly expected: number;
  /** Present and neither stale nor invalid. */
  readonly present: number;
  readonly missing: number;
  readonly stale: number;
  readonly invalid: number;
}

export interface Classification {
  /** Most urgent first (priority, then newest date first, then key). */
  readonly gaps: Gap[];
  readonly coverage: SourceCoverage[];
  /** Expected entries over all sources. */
  readonly expected: number;
}

/**
 * Classifies every entry the spec expects at `now` against `have`.
 *
 * @example
 * const { gaps, coverage } = classify(spec, have, clock.now());
 */
export function classify(
  spec: CoverageSpec,
  have: HaveIndex,
  now: number,
  loaded: LoadedValues = new Map(),
): Classification {
  const gaps: Gap[] = [];
  const coverage: SourceCoverage[] = [];
  let expected = 0;
  for (const source of spec.sources) {
    const counts = { source: source.name, expected: 0, present: 0, missing: 0, stale: 0, invalid: 0 };
    const todayDay = today(now, source.timezone);
    forEachExpected(source, now, loaded, (entry) => {
      counts.expected++;
      const gap = classifyEntry(entry, have, now, todayDay);
      if (gap === undefined) counts.present++;
      else {
        counts[gap.reason]++;
        gaps.push(gap);
      }
    });
    expected += counts.expected;
    coverage.push(counts);
  }
  gaps.sort(mostUrgentFirst);
  return { gaps, coverage, expected };
}

/** The gap of one expected entry, or undefined when the object is there and good. */
export function classifyEntry(entry: ExpectedEntry, have: HaveIndex, now: number, todayDay: number): Gap | undefined {
  const slot = have.slot(entry.key);
  if (slot === undefined) return gapOf(entry, 'missing', 'no object with this key', now, todayDay);
  const { source } = entry;
  const size = have.size(slot);
  if (size < source.minSize) {
    return gapOf(entry, 'invalid', `${size} bytes, below the minimum of ${source.minSize}`, now, todayDay);
  }
  const age = ageMs(entry, now, todayDay);
  for (const rule of source.freshness) {
    if (!matches(rule, entry, age)) continue;
    const modifiedAgo = now - have.modifiedAt(slot);
    if (modifiedAgo <= rule.maxAgeMs) return undefined;
    const detail = `modified ${Math.round(modifiedAgo / 60_000)} min ago, older than its freshness of ${Math.round(rule.maxAgeMs / 60_000)} min`;
    return gapOf(entry, 'stale', detail, now, todayDay);
  }
  return undefined;
}

/** The priority of an entry: the first rule of its source that matches, else the source's default. */
export function priorityOf(source: SourceSpec, entry: ExpectedEntry, now: number, todayDay: number): PriorityName {
  const age = ageMs(entry, now, todayDay);
  for (const rule of source.priorities) if (matches(rule, entry, age)) return rule.priority;
  return source.defaultPriority;
}

function gapOf(entry: ExpectedEntry, reason: GapReason, detail: string, now: number, todayDay: number): Gap {
  return {
    source: entry.source.name,
    key: entry.key,
    reason,
    priority: priorityOf(entry.source, entry, now, todayDay),
    detail,
    date: entry.day === null ? null : isoDate(entry.day),
    fields: { ...entry.fields },
  };
}

/** Age for `within`: since its hour began (hourly), whole local days (dated), null without a date. */
function ageMs(entry: ExpectedEntry, now: number, todayDay: number): number | null {
  if (entry.hourAt !== null) return now - entry.hourAt;
  if (entry.day !== null) return (todayDay - entry.day) * DAY_MS;
  return null;
}

function matches(rule: RuleConditions, entry: ExpectedEntry, age: number | null): boolean {
  if (rule.sources !== null && !rule.sources.has(entry.source.name)) return false;
  if (rule.withinMs !== null && (age === null || age >= rule.withinMs)) return false;
  if (rule.since !== null && (entry.day === null || entry.day < rule.since)) return false;
  if (rule.until !== null && (entry.day === null || entry.day > rule.until)) return false;
  return true;
}

/** Critical first; within a priority the newest date (and hour) first, then by key. */
export function mostUrgentFirst(a: Gap, b: Gap): number {
  const p = PRIORITIES[a.priority] - PRIORITIES[b.priority];
  if (p !== 0) return p;
  const when = (g: Gap) => (g.date ?? '') + (g.fields.hour ?? '');
  const wa = when(a);
  const wb = when(b);
  if (wa !== wb) return wb < wa ? -1 : 1;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}
