/**
 * Prompt templates for LLM stages: text with `{{name}}` and `{{a.b}}`
 * placeholders, filled from a stage's input.
 *
 * A template is checked when it is compiled (at config load), against the
 * shape of the input it will be given: a placeholder naming something the
 * input cannot have is a {@link ConfigError} then, never a surprise at call
 * time. Parts of the input whose fields are only known at run time (the
 * indicator snapshot, the previous stage's output) are declared `open`:
 * any path below them compiles, and a path that is missing when the template
 * is rendered fails that call with a {@link PromptTemplateError} naming it.
 *
 * Values render as text: strings as they are, numbers and booleans with
 * `String`, objects and arrays as compact JSON, `null` as `null`. There is
 * no escape: every `{{` opens a placeholder (single braces, as in JSON
 * examples, are plain text).
 */
import { ConfigError, type ConfigIssue, closest } from '../../config/config-error.ts';
import { TerminalError } from '../../core/errors.ts';

/**
 * What a placeholder may name at one point of the input: `value` (a leaf,
 * nothing below it), `open` (any path below it, checked when rendered), or
 * an object listing its fields.
 */
export type PlaceholderShape = 'value' | 'open' | { readonly [field: string]: PlaceholderShape };

/** The input's top-level names and what lies below each. */
export type PlaceholderShapes = { readonly [name: string]: PlaceholderShape };

/** Where a template was written, for error messages: `signals.yaml` and `stages.score.user`. */
export interface TemplateLocation {
  readonly file: string;
  readonly path: string;
}

/** A compiled template. */
export interface PromptTemplate {
  readonly source: string;
  /** The dotted paths it reads, in order of first use, without repeats. */
  readonly placeholders: readonly string[];
  /**
   * The text with every placeholder filled from `values`. Throws a
   * {@link PromptTemplateError} when a path below an `open` part is missing.
   */
  render(values: Readonly<Record<string, unknown>>): string;
}

/**
 * A placeholder had no value when the template was rendered: the input
 * lacked a field the template reads. Terminal: the same input fails the same
 * way on every attempt.
 */
export class PromptTemplateError extends TerminalError {
  override name = 'PromptTemplateError';
}

type Part = { readonly text: string } | { readonly path: readonly string[]; readonly raw: string };

/** `{{`, optional spaces, a dotted path, optional spaces, `}}`. Segments after the first may be indices or contain dashes. */
const PLACEHOLDER = /\{\{\s*([A-Za-z_]\w*(?:\.[\w-]+)*)\s*\}\}/y;

/**
 * Compiles `source` against `shapes`, collecting every bad placeholder into
 * one {@link ConfigError}.
 *
 * @example
 * const t = compileTemplate('RSI of {{symbol}}: {{indicators.rsi}}', { symbol: 'value', indicators: 'open' },
 *   { file: 'signals.yaml', path: 'stages.score.user' });
 * t.render({ symbol: 'BTC/USD', indicators: { rsi: 28.1 } }); // 'RSI of BTC/USD: 28.1'
 */
export function compileTemplate(source: string, shapes: PlaceholderShapes, where: TemplateLocation): PromptTemplate {
  if (typeof source !== 'string') {
    throw new ConfigError([{ ...where, expected: 'a prompt template (a string)', got: typeof source }]);
  }
  const parts: Part[] = [];
  const issues: ConfigIssue[] = [];
  let text = '';
  let i = 0;
  while (i < source.length) {
    const open = source.indexOf('{{', i);
    if (open === -1) {
      text += source.slice(i);
      break;
    }
    text += source.slice(i, open);
    PLACEHOLDER.lastIndex = open;
    const match = PLACEHOLDER.exec(source);
    if (!match) {
      issues.push(malformed(source, open, where));
      const close = source.indexOf('}}', open + 2);
      i = close === -1 ? source.length : close + 2;
      continue;
    }
    const raw = match[0];
    const dotted = match[1] as string;
    const problem = checkPath(dotted.split('.'), shapes);
    if (problem) issues.push({ ...where, ...problem, got: `${quote(raw)} ${position(source, open)}` });
    if (text) parts.push({ text });
    text = '';
    parts.push({ path: dotted.split('.'), raw });
    i = open + raw.length;
  }
  if (text) parts.push({ text });
  if (issues.length > 0) throw new ConfigError(issues);
  const placeholders = [...new Set(parts.flatMap((p) => ('path' in p ? [p.path.join('.')] : [])))];
  return {
    source,
    placeholders,
    render(values) {
      let out = '';
      for (const part of parts) out += 'text' in part ? part.text : renderValue(lookup(values, part, where));
      return out;
    },
  };
}

/** Every path `shapes` allows, for "expected" lists: `symbol, tick.id, indicators.<any>`. */
export function describeShapes(shapes: PlaceholderShapes): string[] {
  const out: string[] = [];
  const walk = (prefix: string, shape: PlaceholderShape) => {
    if (shape === 'value') out.push(prefix);
    else if (shape === 'open') out.push(prefix, `${prefix}.<any>`);
    else for (const [field, inner] of Object.entries(shape)) walk(`${prefix}.${field}`, inner);
  };
  for (const [name, shape] of Object.entries(shapes)) {
    if (typeof shape === 'object') out.push(name);
    walk(name, shape);
  }
  return out;
}

function checkPath(
  segments: readonly string[],
  shapes: PlaceholderShapes,
): Pick<ConfigIssue, 'expected' | 'hint'> | undefined {
  let fields: PlaceholderShapes = shapes;
  for (const [depth, segment] of segments.entries()) {
    const shape = Object.hasOwn(fields, segment) ? fields[segment] : undefined;
    if (shape === undefined) {
      const known = Object.keys(fields);
      const prefix = segments.slice(0, depth).join('.');
      const guess = closest(segment, known);
      const expected =
        depth === 0
          ? `a placeholder naming one of: ${describeShapes(shapes).join(', ')}`
          : `a field of ${prefix}: one of ${known.join(', ')}`;
      const hint = guess ? `did you mean "${[...segments.slice(0, depth), guess].join('.')}"?` : undefined;
      return hint ? { expected, hint } : { expected };
    }
    if (shape === 'open') return undefined;
    if (shape === 'value') {
      if (depth === segments.length - 1) return undefined;
      return { expected: `${segments.slice(0, depth + 1).join('.')} on its own (it is a value, with no fields)` };
    }
    fields = shape;
  }
  return undefined; // a whole object: rendered as JSON
}

function lookup(
  values: Readonly<Record<string, unknown>>,
  part: { path: readonly string[]; raw: string },
  where: TemplateLocation,
): unknown {
  let current: unknown = values;
  for (const [depth, segment] of part.path.entries()) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment)) {
      const parent = part.path.slice(0, depth).join('.') || '(the input)';
      const has = current !== null && typeof current === 'object' ? Object.keys(current).slice(0, 12) : [];
      const got = has.length > 0 ? `${parent} has ${has.join(', ')}` : `${parent} is ${describe(current)}`;
      throw new PromptTemplateError(
        `${where.file}: ${where.path}: placeholder ${part.raw}: expected the input to have ${part.path.join('.')}, got ${got}`,
      );
    }
    current = (current as Record<string, unknown>)[segment];
  }
  if (current === undefined) {
    throw new PromptTemplateError(
      `${where.file}: ${where.path}: placeholder ${part.raw}: expected a value for ${part.path.join('.')}, got nothing`,
    );
  }
  return current;
}

function renderValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? String(v) : v)) ?? String(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'missing';
  return `a ${typeof value} (no fields)`;
}

function malformed(source: string, at: number, where: TemplateLocation): ConfigIssue {
  const close = source.indexOf('}}', at + 2);
  const raw = close === -1 ? source.slice(at, at + 24) : source.slice(at, close + 2);
  return {
    ...where,
    expected: 'a placeholder like {{symbol}} or {{indicators.rsi}} (a name, dotted paths allowed)',
    got: `${quote(raw)} ${position(source, at)}`,
    hint: close === -1 ? 'it is not closed with }}' : undefined,
  };
}

function quote(text: string): string {
  return JSON.stringify(text);
}

/** `at line 3, column 7` of the template (1-based). */
function position(source: string, at: number): string {
  const before = source.slice(0, at);
  const line = before.split('\n').length;
  const column = at - before.lastIndexOf('\n');
  return `at line ${line}, column ${column}`;
}
