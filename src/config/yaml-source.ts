import YAML, { type Document, LineCounter } from 'yaml';
import type { ConfigIssue } from './config-error.ts';
import { type DocumentInterpolation, type Env, interpolateDocument } from './interpolate.ts';

/** Stage 1 of a YAML config: plain data with `${VAR}` interpolated, or the issues that prevent it. */
export type RawYaml =
  | { ok: true; data: unknown; interpolation: DocumentInterpolation }
  | { ok: false; issues: ConfigIssue[] };

const ALIAS_HINT = 'a value starting with "*" must be quoted, e.g. cron: "*/5 * * * *"';

/**
 * Parses YAML text. Syntax errors come back with line:column (one per line:
 * the parser often reports the same mistake several times on a line).
 * Interpolation issues are returned beside the data, so validation can run
 * too and report everything at once.
 */
export function readYaml(text: string, file: string, env: Env): RawYaml {
  const lines = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const syntax = syntaxIssues(doc, lines, file);
  if (syntax.length > 0) return { ok: false, issues: syntax };
  const interpolation = interpolateDocument(doc, env, file, lines);
  try {
    return { ok: true, data: doc.toJS(), interpolation };
  } catch (error) {
    // toJS throws for an alias whose anchor is missing, which parsing accepts.
    const got = error instanceof Error ? error.message : String(error);
    return { ok: false, issues: [{ file, path: '', expected: 'valid YAML', got, hint: ALIAS_HINT }] };
  }
}

function syntaxIssues(doc: Document, lines: LineCounter, file: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seenLines = new Set<number>();
  for (const error of doc.errors) {
    const { line, col } = lines.linePos(error.pos[0]);
    if (seenLines.has(line)) continue;
    seenLines.add(line);
    const issue: ConfigIssue = {
      file,
      path: '',
      line,
      column: col,
      expected: 'valid YAML',
      got: firstLine(error.message),
    };
    if (/alias/i.test(error.message)) issue.hint = ALIAS_HINT;
    if (error.code === 'DUPLICATE_KEY') issue.hint = 'each key may appear once per mapping';
    if (error.code === 'TAB_AS_INDENT') issue.hint = 'indent with spaces, not tabs';
    issues.push(issue);
  }
  return issues;
}

function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? message;
  return line.charAt(0).toLowerCase() + line.slice(1);
}
