/**
 * Key templates of the coverage spec: `{source}/{season}/{date:YYYY-MM-DD}.json`.
 *
 * A template is compiled once into literal parts and field lookups, so
 * rendering a million keys is a million short string joins. Placeholders:
 *
 * - `{name}`: the entry's field `name` as text (`source`, `date`, `hour`,
 *   `value`, any field of a values entry or of the source's `vars`);
 * - `{date:FORMAT}`: the entry's date in FORMAT, whose tokens are `YYYY`,
 *   `YY`, `MM`, `DD`, `HH` (the hour of an hourly entry, `00` otherwise);
 *   anything else is copied as is.
 */

/** The fields one expected entry renders with. `date` is `YYYY-MM-DD`, `hour` is `HH` (hourly entries). */
export type EntryFields = Readonly<Record<string, string>>;

type Part = string | { field: string } | { format: ReadonlyArray<string | DateToken> };
type DateToken = { token: 'YYYY' | 'YY' | 'MM' | 'DD' | 'HH' };

/** A compiled template. */
export interface KeyTemplate {
  /** The text as written. */
  readonly text: string;
  /** Field names it reads (`date` for `{date:...}`). */
  readonly fields: readonly string[];
  /** Whether two different dates always render different keys (`{date}`, `{date:YYYYMMDD}`, `{year}{month}{day}`). */
  readonly readsWholeDate: boolean;
  render(fields: EntryFields): string;
}

/** A template that does not parse: `message` says where and what. */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

/**
 * Compiles `text`. Throws a {@link TemplateError} for an empty or malformed
 * placeholder (`{}`, `{date:}`, an unclosed brace).
 *
 * @example
 * compileTemplate('{source}/{date:YYYY/MM/DD}.json').render({ source: 'nba', date: '2024-02-29' }) // 'nba/2024/02/29.json'
 */
export function compileTemplate(text: string): KeyTemplate {
  const parts: Part[] = [];
  const fields = new Set<string>();
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    const literal = text.slice(last, match.index);
    checkLiteral(literal, text);
    if (literal) parts.push(literal);
    last = match.index + match[0].length;
    const inner = match[1] as string;
    const colon = inner.indexOf(':');
    const name = (colon < 0 ? inner : inner.slice(0, colon)).trim();
    if (!/^[A-Za-z_][\w-]*$/.test(name)) {
      throw new TemplateError(`placeholder "{${inner}}" in "${text}" needs a field name like {source} or {date}`);
    }
    fields.add(name);
    if (colon < 0) {
      parts.push({ field: name });
      continue;
    }
    if (name !== 'date') {
      throw new TemplateError(`placeholder "{${inner}}" in "${text}": only {date:FORMAT} takes a format`);
    }
    const format = inner.slice(colon + 1);
    if (format === '') throw new TemplateError(`placeholder "{${inner}}" in "${text}" has an empty format`);
    parts.push({ format: compileFormat(format) });
  }
  const tail = text.slice(last);
  checkLiteral(tail, text);
  if (tail) parts.push(tail);
  const whole =
    parts.some(
      (p) =>
        (typeof p === 'object' && 'field' in p && p.field === 'date') ||
        (typeof p === 'object' &&
          'format' in p &&
          ['YYYY', 'MM', 'DD'].every((t) => p.format.some((f) => typeof f === 'object' && f.token === t))),
    ) || ['year', 'month', 'day'].every((f) => fields.has(f));
  return { text, fields: [...fields], readsWholeDate: whole, render: renderer(parts) };
}

function checkLiteral(literal: string, text: string): void {
  if (literal.includes('{') || literal.includes('}')) {
    throw new TemplateError(`unbalanced brace in "${text}"; placeholders look like {source} or {date:YYYY-MM-DD}`);
  }
}

function compileFormat(format: string): Array<string | DateToken> {
  const out: Array<string | DateToken> = [];
  const re = /YYYY|YY|MM|DD|HH/g;
  let last = 0;
  for (const m of format.matchAll(re)) {
    if (m.index > last) out.push(format.slice(last, m.index));
    out.push({ token: m[0] as DateToken['token'] });
    last = m.index + m[0].length;
  }
  if (last < format.length) out.push(format.slice(last));
  return out;
}

function renderer(parts: readonly Part[]): (fields: EntryFields) => string {
  return (fields) => {
    let out = '';
    for (const part of parts) {
      if (typeof part === 'string') out += part;
      else if ('field' in part) {
        const value = fields[part.field];
        if (value === undefined) throw new TemplateError(`no value for {${part.field}}`);
        out += value;
      } else out += formatDate(part.format, fields);
    }
    return out;
  };
}

function formatDate(format: ReadonlyArray<string | DateToken>, fields: EntryFields): string {
  const date = fields.date;
  if (date === undefined) throw new TemplateError('no value for {date:...}: the entry has no date');
  let out = '';
  for (const piece of format) {
    if (typeof piece === 'string') out += piece;
    else if (piece.token === 'YYYY') out += date.slice(0, 4);
    else if (piece.token === 'YY') out += date.slice(2, 4);
    else if (piece.token === 'MM') out += date.slice(5, 7);
    else if (piece.token === 'DD') out += date.slice(8, 10);
    else out += fields.hour ?? '00';
  }
  return out;
}
