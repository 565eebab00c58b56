import YAML, { type Document, isPair, isSeq, type LineCounter, type Scalar } from 'yaml';
import type { ConfigIssue } from './config-error.ts';
import { formatPath } from './config-error.ts';
import { valueAt } from './zod-issues.ts';

/** Environment variables, as `process.env` holds them. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The result of interpolating one string. */
export interface Interpolated {
  value: string;
  /** Variables referenced without a default and not set. */
  missing: string[];
  /** Expressions that are not `${NAME}` or `${NAME:-default}`. */
  malformed: string[];
}

const EXPRESSION = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;
const WHOLE = /^\$\{[^}]*\}$/;

/**
 * Replaces `${NAME}` and `${NAME:-default}` in `text` from `env`. As in the
 * shell, the default applies when the variable is unset or empty. `$${`
 * writes a literal `${`.
 *
 * @example
 * interpolateString('redis://${HOST:-localhost}:6379', { HOST: 'db' }).value; // 'redis://db:6379'
 */
export function interpolateString(text: string, env: Env): Interpolated {
  const missing: string[] = [];
  const malformed: string[] = [];
  const value = text.replace(EXPRESSION, (match: string, inner: string | undefined) => {
    if (match === '$${') return '${';
    const ref = inner === undefined ? null : REFERENCE.exec(inner);
    if (!ref) {
      malformed.push(match);
      return match;
    }
    const [, name, fallback] = ref as unknown as [string, string, string | undefined];
    const set = env[name];
    if (fallback !== undefined) return set === undefined || set === '' ? fallback : set;
    if (set === undefined) missing.push(name);
    return set ?? match;
  });
  return { value, missing, malformed };
}

/** A value that was exactly one `${...}` expression. */
export interface Substitution {
  path: PropertyKey[];
  /** As written, e.g. `${PORT:-8080}`. */
  expression: string;
}

/** What interpolating a document found. */
export interface DocumentInterpolation {
  /** One per unset variable or malformed expression, with position and config path. */
  issues: ConfigIssue[];
  /**
   * Values that were exactly one `${...}` expression, by formatted config
   * path: {@link coerceSubstituted} may give them the type the schema wants.
   */
  substituted: Map<string, Substitution>;
}

/**
 * Interpolates every string value (not keys) of a parsed YAML document in
 * place, from `env`. Interpolating after parsing keeps a variable's value
 * from changing the document's structure.
 */
export function interpolateDocument(doc: Document, env: Env, file: string, lines: LineCounter): DocumentInterpolation {
  const issues: ConfigIssue[] = [];
  const substituted = new Map<string, Substitution>();
  YAML.visit(doc, {
    Scalar(key, node, ancestors) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return;
      const result = interpolateString(node.value, env);
      const path = pathOf(ancestors, node);
      const where = { file, path: formatPath(path), ...position(node, lines) };
      for (const name of result.missing) {
        issues.push({
          ...where,
          expected: `environment variable ${name} to be set`,
          got: 'no such variable',
          hint: `set it, or give a default: \${${name}:-value}`,
        });
      }
      for (const expression of result.malformed) {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the config syntax, not a template
        issues.push({ ...where, expected: '${NAME} or ${NAME:-default}', got: JSON.stringify(expression) });
      }
      const expression = node.value.trim();
      if (WHOLE.test(expression) && result.missing.length === 0) substituted.set(where.path, { path, expression });
      node.value = result.value;
    },
  });
  return { issues, substituted };
}

/**
 * Environment variables are strings, so `port: ${PORT:-8080}` validates as
 * the string "8080". Given the issues of a first validation, this converts
 * such whole substitutions to a number or boolean where the schema expected
 * one, in place, and reports whether anything changed (then validate again).
 * Only values that came whole from `${...}` are touched: a string written
 * in the file stays a string and keeps its error.
 */
export function coerceSubstituted(
  data: unknown,
  issues: ReadonlyArray<ConfigIssue>,
  substituted: ReadonlyMap<string, Substitution>,
): boolean {
  let changed = false;
  for (const issue of issues) {
    const path = substituted.get(issue.path)?.path;
    const parent = path && valueAt(data, path.slice(0, -1));
    if (!path || parent === null || typeof parent !== 'object') continue;
    const last = path.at(-1) as PropertyKey;
    const text = (parent as Record<PropertyKey, unknown>)[last];
    if (typeof text !== 'string') continue;
    const wantsNumber = issue.expected === 'number' || issue.expected === 'an integer';
    if (wantsNumber && /^[+-]?\d+(\.\d+)?$/.test(text.trim())) {
      (parent as Record<PropertyKey, unknown>)[last] = Number(text);
      changed = true;
    } else if (issue.expected.startsWith('boolean') && /^(true|false)$/.test(text.trim())) {
      (parent as Record<PropertyKey, unknown>)[last] = text.trim() === 'true';
      changed = true;
    }
  }
  return changed;
}

/** The config path of `node` from the visitor's ancestor list. */
function pathOf(ancestors: readonly unknown[], node: unknown): PropertyKey[] {
  const path: PropertyKey[] = [];
  ancestors.forEach((ancestor, i) => {
    if (isPair(ancestor)) {
      const key = ancestor.key as Scalar | string | null;
      path.push(String(key !== null && typeof key === 'object' ? key.value : key));
    } else if (isSeq(ancestor)) {
      path.push(ancestor.items.indexOf((ancestors[i + 1] ?? node) as never));
    }
  });
  return path;
}

function position(node: Scalar, lines: LineCounter): { line?: number; column?: number } {
  const offset = node.range?.[0];
  if (offset === undefined) return {};
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}
