import type { z } from 'zod';
import { type ConfigIssue, closest, describeValue, formatPath, KNOWN_KEY, showValue } from './config-error.ts';

/** A path into raw config data. */
export type ConfigPath = ReadonlyArray<PropertyKey>;

/** The outcome of validating one piece of config. */
export type Validated<T> = { ok: true; value: T } | { ok: false; issues: ConfigIssue[] };

/**
 * Parameters a schema may attach to a custom issue
 * (`ctx.addIssue({ code: 'custom', message: <expected>, params })`).
 */
export interface IssueParams {
  /** Replaces the value found at the issue's path, e.g. when a map key is at fault. */
  got?: string;
  hint?: string;
}

const TYPE_NAMES: Record<string, string> = {
  number: 'number',
  int: 'an integer',
  string: 'string',
  boolean: 'boolean (true or false)',
  object: 'a mapping (key: value)',
  array: 'a list',
  function: 'a function',
};

/**
 * Validates `raw` against `schema` and turns every zod issue into a
 * {@link ConfigIssue}. Each issue's `message` is the "expected" phrase: a
 * schema states it with `{ error: '...' }`, and built-in checks get theirs
 * from {@link expectedPhrase}. `prefix` is where `raw` sits in the file.
 */
export function validate<T>(schema: z.ZodType<T>, raw: unknown, file: string, prefix: ConfigPath = []): Validated<T> {
  const result = schema.safeParse(raw, { error: expectedPhrase });
  if (result.success) return { ok: true, value: result.data };
  const issues = result.error.issues.flatMap((issue) => toConfigIssues(issue, { raw, file, prefix }));
  return { ok: false, issues };
}

/** The per-parse error map: built-in issues described as what was expected. */
export function expectedPhrase(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return TYPE_NAMES[issue.expected] ?? issue.expected;
    case 'too_small':
      return bound(issue.origin, issue.inclusive ? '>=' : '>', Number(issue.minimum));
    case 'too_big':
      return bound(issue.origin, issue.inclusive ? '<=' : '<', Number(issue.maximum));
    case 'invalid_value':
      return issue.values.length === 1
        ? JSON.stringify(issue.values[0])
        : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return issue.pattern ? `a string matching ${issue.pattern}` : `a valid ${issue.format}`;
    case 'unrecognized_keys': {
      // The raw issue still knows its schema, so it can list the keys that are allowed.
      const shape = (issue.inst as { _zod?: { def?: { shape?: object } } } | undefined)?._zod?.def?.shape;
      return shape ? `allowed keys: ${Object.keys(shape).join(', ')}` : undefined;
    }
    case 'invalid_union':
      return 'one of the allowed forms';
    default:
      return undefined;
  }
}

function bound(origin: string, op: string, limit: number): string {
  if (origin === 'string' && op === '>=' && limit === 1) return 'a non-empty string';
  if (origin === 'string') return `a string with length ${op} ${limit}`;
  if (origin === 'array') return `a list with ${op} ${limit} items`;
  return `${origin === 'int' ? 'an integer' : 'a number'} ${op} ${limit}`;
}

interface MapContext {
  raw: unknown;
  file: string;
  prefix: ConfigPath;
}

function toConfigIssues(issue: z.core.$ZodIssue, ctx: MapContext): ConfigIssue[] {
  const value = valueAt(ctx.raw, issue.path);
  const at = (path: ConfigPath) => formatPath([...ctx.prefix, ...path]);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => unknownKey(ctx.file, at(issue.path), key, issue.message));
    case 'invalid_union': {
      const branch = matchingBranch(issue.errors);
      if (branch) return branch.flatMap((inner) => toConfigIssues(prefixed(inner, issue.path), ctx));
      return [{ file: ctx.file, path: at(issue.path), expected: issue.message, got: describeValue(value) }];
    }
    case 'invalid_key': {
      const key = issue.path.at(-1);
      const expected = issue.issues[0]?.message ?? 'a valid key';
      return [{ file: ctx.file, path: at(issue.path.slice(0, -1)), expected, got: `key ${showValue(key)}` }];
    }
    case 'invalid_type':
      return [{ file: ctx.file, path: at(issue.path), expected: issue.message, got: describeValue(value) }];
    default: {
      const params = (issue.code === 'custom' ? issue.params : undefined) as IssueParams | undefined;
      const found: ConfigIssue = {
        file: ctx.file,
        path: at(issue.path),
        expected: issue.message,
        got: showValue(value),
      };
      if (params?.got !== undefined) found.got = params.got;
      if (params?.hint !== undefined) found.hint = params.hint;
      return [found];
    }
  }
}

function unknownKey(file: string, path: string, key: string, message: string): ConfigIssue {
  const allowed = message.startsWith('allowed keys: ') ? message.slice('allowed keys: '.length).split(', ') : [];
  const guess = closest(key, allowed);
  const hints = [guess ? `did you mean "${guess}"?` : '', allowed.length ? message : ''].filter(Boolean);
  const issue: ConfigIssue = { file, path, expected: KNOWN_KEY, got: `unknown key "${key}"` };
  if (hints.length) issue.hint = hints.join(' ');
  return issue;
}

/**
 * The one union branch whose value had the right shape, if there is exactly
 * one: its issues say more than "expected one of the forms" (for
 * `act: { command: 5 }`, "act.command: expected string" beats "expected a
 * module reference or a command").
 */
function matchingBranch(branches: z.core.$ZodIssue[][]): z.core.$ZodIssue[] | undefined {
  const shaped = branches.filter(
    (issues) => !issues.some((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value')),
  );
  return shaped.length === 1 ? shaped[0] : undefined;
}

function prefixed(issue: z.core.$ZodIssue, path: ConfigPath): z.core.$ZodIssue {
  return { ...issue, path: [...path, ...issue.path] } as z.core.$ZodIssue;
}

/** The raw value at `path`, or undefined when the path does not exist. */
export function valueAt(raw: unknown, path: ConfigPath): unknown {
  let current = raw;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}
