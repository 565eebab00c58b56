import { AutoloopError } from '../core/errors.ts';

/**
 * One thing wrong with a config, in the one template every bad-input message
 * follows: where (file, optional line:column, path), what was expected, what
 * was there, and how to fix it when we know.
 */
export interface ConfigIssue {
  /** The file as the caller named it, or a pseudo-file like `defineLoop(prices)`. */
  file: string;
  /** Dotted path to the value, e.g. `loops.signals.trigger.cron`; `''` for the whole file. */
  path: string;
  expected: string;
  got: string;
  hint?: string;
  /** 1-based position, known for YAML syntax errors and interpolation errors. */
  line?: number;
  column?: number;
}

/**
 * A config (YAML file, TS module or `defineLoop` call) is invalid. Carries
 * every issue found, not just the first; the message has one line per issue:
 *
 * `autoloop.yaml: loops.signals.trigger.cron: expected a cron expression like "*\/1 * * * *", got "every minute"`
 */
export class ConfigError extends AutoloopError {
  override name = 'ConfigError';
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[], options?: { cause?: unknown }) {
    super(issues.map(formatIssue).join('\n'), options);
    this.issues = issues;
  }
}

/**
 * The `expected` of an unknown-key issue. Such an issue reads
 * `loops.x: unknown key "foo"; allowed keys: ...` rather than
 * "expected a known key, got ...": the key itself is the news.
 */
export const KNOWN_KEY = 'a known key';

/** Renders one issue as one line. */
export function formatIssue(issue: ConfigIssue): string {
  const position = issue.line === undefined ? '' : `:${issue.line}:${issue.column ?? 1}`;
  const where = issue.path !== '' ? `${issue.path}: ` : issue.line === undefined ? '(top level): ' : '';
  const problem = issue.expected === KNOWN_KEY ? issue.got : `expected ${issue.expected}, got ${issue.got}`;
  const hint = issue.hint ? `; ${issue.hint}` : '';
  return `${issue.file}${position}: ${where}${problem}${hint}`;
}

/** A path as users read it: `loops.demo.items[2].key`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** A value as it appeared in the config: `"every minute"`, `5`, `[a, b]`. */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  try {
    return truncate(JSON.stringify(value) ?? String(value), 80);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** A value with its type, for type mismatches: `string "ten"`, `a mapping {"a":1}`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (an empty value)';
  if (typeof value === 'function') return showValue(value);
  if (Array.isArray(value)) return `a list ${showValue(value)}`;
  if (typeof value === 'object') return `a mapping ${showValue(value)}`;
  return `${typeof value} ${showValue(value)}`;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** The closest of `candidates` to `word`, if it is a plausible typo of it. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] as number;
}
