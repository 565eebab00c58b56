/**
 * The coverage spec: what SHOULD exist, and how urgent each gap is.
 *
 * Stage 1 is YAML (a file beside the config, or inline under `coverage:`);
 * stage 2 is {@link coverageSchema} (zod: every error names the file and
 * the path, e.g. `coverage.yaml: sources.nba_api.dates.from: expected a
 * date like 2024-10-22, today or -30d, got "last month"`); stage 3 is the
 * frozen {@link CoverageSpec}: templates compiled, durations in ms, dates
 * checked, time zones known.
 *
 * ```yaml
 * timezone: America/New_York
 * sources:
 *   nba_api:
 *     key: "{source}/{season}/{date:YYYY-MM-DD}.json"
 *     vars: { season: 2024-25 }
 *     dates: { from: 2024-10-22, to: today, step: daily }   # hourly, weekly; from: -30d
 *     minSize: 100                                          # smaller is invalid
 *     validate: python check.py {path}                      # run on each collected object, exit 0 = valid
 *   hoopr:
 *     key: "{source}/games/{game}.json"
 *     values: { file: ./game-ids.txt }                      # or a list, or { command: ./list-games }
 * priorities:                                              # first match wins; default low
 *   - { within: 2d, priority: critical }
 *   - { within: 30d, priority: high }
 *   - { since: 2024-10-22, priority: medium }
 * freshness:                                               # today's files re-collected every hour
 *   - { within: 1d, maxAge: 1h }
 * ```
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../../config/config-error.ts';
import { validate } from '../../config/zod-issues.ts';
import { PRIORITIES, type PriorityName } from '../../core/work-item.ts';
import { parseDuration } from '../../time/duration.ts';
import { isTimeZone, parseIsoDate, resolveDate } from './calendar.ts';
import { compileTemplate, type KeyTemplate, type TemplateError } from './key-template.ts';

const PRIORITY_NAMES = Object.keys(PRIORITIES) as [PriorityName, ...PriorityName[]];
const DATE_EXPECTED = 'a date like 2024-10-22, today, yesterday or -30d';
const DURATION_EXPECTED = 'a duration like "2d", "1h" or 3600000 (ms)';

const dateText = z.union([z.string(), z.number()], { error: DATE_EXPECTED }).transform((value, ctx) => {
  const text = String(value).trim();
  // Checked against an arbitrary "today": only the form matters here.
  if (resolveDate(text, 0) === undefined) {
    ctx.addIssue({ code: 'custom', message: DATE_EXPECTED, input: value });
    return z.NEVER;
  }
  return text;
});

const absoluteDate = z.string({ error: 'a date like 2024-10-22' }).transform((text, ctx) => {
  const day = parseIsoDate(text.trim());
  if (day === undefined) {
    ctx.addIssue({ code: 'custom', message: 'a date like 2024-10-22 (a real calendar date)', input: text });
    return z.NEVER;
  }
  return day;
});

const duration = z.unknown().transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: DURATION_EXPECTED, input: value });
    return z.NEVER;
  }
  return ms;
});

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };
const size = z.unknown().transform((value, ctx) => {
  const m =
    typeof value === 'number' ? [String(value), String(value), 'b'] : /^(\d+)\s*(b|kb|mb|gb)?$/i.exec(String(value));
  if (!m || (typeof value === 'number' && (!Number.isInteger(value) || value < 0))) {
    ctx.addIssue({ code: 'custom', message: 'a size in bytes like 100 or "2KB"', input: value });
    return z.NEVER;
  }
  return Number(m[1]) * (SIZE_UNITS[(m[2] ?? 'b').toLowerCase()] as number);
});

const timeZone = z.string({ error: 'an IANA time zone like "UTC" or "America/New_York"' }).refine(isTimeZone, {
  error: 'an IANA time zone like "UTC" or "America/New_York"',
});

/** When a rule applies: every condition given must hold. */
const conditions = {
  /** The entry's date (or, for hourly entries, its hour) began less than this long ago. */
  within: duration.optional(),
  /** The entry's date is on or after this date. */
  since: absoluteDate.optional(),
  /** The entry's date is on or before this date. */
  until: absoluteDate.optional(),
  /** Only these sources. */
  sources: z.array(z.string().min(1)).min(1).optional(),
};

const priorityRule = z.strictObject({
  priority: z.enum(PRIORITY_NAMES),
  ...conditions,
});

const freshnessRule = z.strictObject({
  /** An object older than this (by its modification time) is stale and collected again. */
  maxAge: duration,
  ...conditions,
});

const valueEntry = z.union([z.string(), z.number(), z.record(z.string(), z.union([z.string(), z.number()]))], {
  error: 'a value (text) or a mapping of fields like { date: 2024-10-22, game: "401585" }',
});

const sourceSchema = z.strictObject({
  /** The key of each expected object, relative to the inventory's root. */
  key: z.string({ error: 'a key template like "{source}/{date:YYYY-MM-DD}.json"' }).min(1),
  dates: z
    .strictObject({
      from: dateText,
      to: dateText.optional(),
      step: z.enum(['daily', 'hourly', 'weekly']).optional(),
    })
    .optional(),
  values: z
    .union(
      [
        z.array(valueEntry),
        z.strictObject({ file: z.string().min(1) }),
        z.strictObject({ command: z.string().min(1), timeout: duration.optional() }),
      ],
      { error: 'a list of values, { file: ./values.txt } or { command: ./list-values }' },
    )
    .optional(),
  /** Fixed fields every key of this source can use, e.g. { season: 2024-25 }. */
  vars: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  /** A period is expected only this long after it began (data for a day is ready the next morning: 30h). */
  delay: duration.optional(),
  minSize: size.optional(),
  /** A command run on each collected object (`python check.py {path}`); exit 0 = valid. */
  validate: z
    .union([z.string().min(1), z.strictObject({ command: z.string().min(1), timeout: duration.optional() })], {
      error: 'a validator command ("python check.py {path}") or { command, timeout }',
    })
    .optional(),
  timezone: timeZone.optional(),
  priorities: z.array(priorityRule).optional(),
  freshness: z.array(freshnessRule).optional(),
  /** The priority when no rule matches. Default: the spec's `defaultPriority`. */
  priority: z.enum(PRIORITY_NAMES).optional(),
});

/** The coverage spec as written (stage 2 output, before it is resolved). */
export const coverageSchema = z.strictObject({
  timezone: timeZone.optional(),
  sources: z.record(
    z.string().regex(/^[\w.-]+$/, { error: 'a source name (letters, digits, ".", "_", "-")' }),
    sourceSchema,
  ),
  priorities: z.array(priorityRule).optional(),
  freshness: z.array(freshnessRule).optional(),
  defaultPriority: z.enum(PRIORITY_NAMES).optional(),
  minSize: size.optional(),
});

export type CoverageInput = z.input<typeof coverageSchema>;
type CoverageParsed = z.output<typeof coverageSchema>;

/** A rule's conditions, resolved. Dates are day numbers. */
export interface RuleConditions {
  readonly withinMs: number | null;
  readonly since: number | null;
  readonly until: number | null;
  readonly sources: ReadonlySet<string> | null;
}

export interface PriorityRule extends RuleConditions {
  readonly priority: PriorityName;
}

export interface FreshnessRule extends RuleConditions {
  readonly maxAgeMs: number;
}

/** Where a source's values come from. */
export type ValuesSpec =
  | { readonly kind: 'list'; readonly entries: ReadonlyArray<Readonly<Record<string, string>>> }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'command'; readonly command: string; readonly timeoutMs: number; readonly cwd: string };

/** One source of the resolved spec. */
export interface SourceSpec {
  readonly name: string;
  readonly key: KeyTemplate;
  readonly dates: { readonly from: string; readonly to: string; readonly step: 'daily' | 'hourly' | 'weekly' } | null;
  readonly values: ValuesSpec | null;
  readonly vars: Readonly<Record<string, string>>;
  readonly delayMs: number;
  readonly minSize: number;
  /** Run on each collected object; a non-zero exit makes the collection fail (retried). Null: none. */
  readonly validate: { readonly command: string; readonly timeoutMs: number | null } | null;
  readonly timezone: string;
  readonly priorities: readonly PriorityRule[];
  readonly freshness: readonly FreshnessRule[];
  readonly defaultPriority: PriorityName;
}

/** The resolved coverage spec (stage 3): frozen, every duration in ms. */
export interface CoverageSpec {
  /** Where it came from, for messages: a file, or `<config>: loops.<name>.coverage`. */
  readonly origin: string;
  readonly sources: readonly SourceSpec[];
}

/** Where a spec is read from and what its errors are named after. */
export interface SpecSite {
  /** The file its errors name. */
  readonly file: string;
  /** Path prefix of the spec inside that file (`['loops', 'collect', 'coverage']` when inline). */
  readonly prefix: ReadonlyArray<PropertyKey>;
  /** Relative `values: { file }` and commands start here. */
  readonly dir: string;
}

/**
 * Reads and resolves a coverage file. Throws a {@link ConfigError} naming
 * the file (and line:column for YAML syntax) for anything wrong.
 */
export function loadCoverageFile(path: string): CoverageSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const got = error instanceof Error ? error.message : String(error);
    throw new ConfigError([{ file: path, path: '', expected: 'a readable coverage file (YAML)', got }]);
  }
  const doc = YAML.parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    const issues: ConfigIssue[] = doc.errors.map((e) => ({
      file: path,
      path: '',
      expected: 'valid YAML',
      got: e.message.split('\n')[0] as string,
      ...(e.linePos?.[0] && { line: e.linePos[0].line, column: e.linePos[0].col }),
    }));
    throw new ConfigError(issues);
  }
  return resolveCoverage(doc.toJS(), { file: path, prefix: [], dir: dirname(path) });
}

/** Validates and resolves a spec given as data. Throws a {@link ConfigError} naming `site.file` and the path. */
export function resolveCoverage(raw: unknown, site: SpecSite): CoverageSpec {
  const checked = validate(coverageSchema, raw, site.file, site.prefix);
  if (!checked.ok) throw new ConfigError(checked.issues);
  const spec = checked.value;
  const issues: ConfigIssue[] = [];
  const at = (...path: PropertyKey[]) => [...site.prefix, ...path].map(String).join('.');
  const sources: SourceSpec[] = [];
  for (const [name, source] of Object.entries(spec.sources)) {
    const resolved = resolveSource(name, source, spec, site, (path, expected, got) =>
      issues.push({ file: site.file, path: at('sources', name, ...path), expected, got }),
    );
    if (resolved) sources.push(resolved);
  }
  if (sources.length === 0 && issues.length === 0) {
    issues.push({ file: site.file, path: at('sources'), expected: 'at least one source', got: 'none' });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  const origin = site.prefix.length === 0 ? site.file : `${site.file}: ${at()}`;
  return Object.freeze({ origin, sources: Object.freeze(sources) });
}

type Report = (path: PropertyKey[], expected: string, got: string) => void;

function resolveSource(
  name: string,
  source: CoverageParsed['sources'][string],
  spec: CoverageParsed,
  site: SpecSite,
  report: Report,
): SourceSpec | undefined {
  let key: KeyTemplate;
  try {
    key = compileTemplate(source.key);
  } catch (error) {
    report(['key'], 'a key template like "{source}/{date:YYYY-MM-DD}.json"', (error as TemplateError).message);
    return undefined;
  }
  if ((source.dates === undefined) === (source.values === undefined)) {
    report([], 'exactly one of `dates` (a calendar) or `values` (a list)', source.dates ? 'both' : 'neither');
    return undefined;
  }
  const vars = Object.fromEntries(Object.entries(source.vars ?? {}).map(([k, v]) => [k, String(v)]));
  const values = source.values === undefined ? null : valuesOf(source.values, site);
  const known = new Set(['source', ...Object.keys(vars)]);
  if (source.dates) {
    for (const f of ['date', 'year', 'month', 'day']) known.add(f);
    if (source.dates.step === 'hourly') known.add('hour');
  }
  if (values?.kind === 'list') {
    for (const entry of values.entries) for (const f of Object.keys(entry)) known.add(f);
  }
  // Fields of values read from a file or a command are known only when read; a missing one fails that reconcile.
  if (values === null || values.kind === 'list') {
    const unknown = key.fields.filter((f) => !known.has(f));
    if (unknown.length > 0) {
      report(
        ['key'],
        `placeholders from: ${[...known].map((f) => `{${f}}`).join(', ')}`,
        `{${unknown.join('}, {')}} in "${source.key}"`,
      );
      return undefined;
    }
  }
  if (source.dates?.step === 'hourly' && !key.fields.includes('hour') && !source.key.includes('HH')) {
    report(['key'], 'a template with the hour ({hour} or {date:...HH}) for an hourly calendar', `"${source.key}"`);
    return undefined;
  }
  return Object.freeze({
    name,
    key,
    dates: source.dates
      ? { from: source.dates.from, to: source.dates.to ?? 'today', step: source.dates.step ?? 'daily' }
      : null,
    values,
    vars,
    delayMs: source.delay ?? 0,
    minSize: source.minSize ?? spec.minSize ?? 0,
    validate:
      source.validate === undefined
        ? null
        : typeof source.validate === 'string'
          ? { command: source.validate, timeoutMs: null }
          : { command: source.validate.command, timeoutMs: source.validate.timeout ?? null },
    timezone: source.timezone ?? spec.timezone ?? 'UTC',
    priorities: (source.priorities ?? spec.priorities ?? []).map(priorityRuleOf),
    freshness: (source.freshness ?? spec.freshness ?? []).map(freshnessRuleOf),
    defaultPriority: source.priority ?? spec.defaultPriority ?? 'low',
  });
}

function valuesOf(values: NonNullable<CoverageParsed['sources'][string]['values']>, site: SpecSite): ValuesSpec {
  if (Array.isArray(values)) return { kind: 'list', entries: values.map(valueFields) };
  if ('file' in values) {
    return { kind: 'file', path: isAbsolute(values.file) ? values.file : resolve(site.dir, values.file) };
  }
  return { kind: 'command', command: values.command, timeoutMs: values.timeout ?? 60_000, cwd: site.dir };
}

/**
 * The fields of one values entry: a scalar is `{ value }` (and `{ date }`
 * when it is a date), a mapping keeps its fields as text.
 */
export function valueFields(entry: unknown): Record<string, string> {
  if (entry !== null && typeof entry === 'object') {
    return Object.fromEntries(Object.entries(entry).map(([k, v]) => [k, String(v)]));
  }
  const value = String(entry);
  return parseIsoDate(value) === undefined ? { value } : { value, date: value };
}

function conditionsOf(rule: z.output<typeof priorityRule> | z.output<typeof freshnessRule>): RuleConditions {
  return {
    withinMs: rule.within ?? null,
    since: rule.since ?? null,
    until: rule.until ?? null,
    sources: rule.sources ? new Set(rule.sources) : null,
  };
}

function priorityRuleOf(rule: z.output<typeof priorityRule>): PriorityRule {
  return Object.freeze({ ...conditionsOf(rule), priority: rule.priority });
}

function freshnessRuleOf(rule: z.output<typeof freshnessRule>): FreshnessRule {
  return Object.freeze({ ...conditionsOf(rule), maxAgeMs: rule.maxAge });
}
