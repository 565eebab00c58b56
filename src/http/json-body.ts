import type { Context } from 'hono';
import { findJsonSyntaxError } from './json-syntax.ts';
import type { Responder } from './respond.ts';

/**
 * The request body as a JSON object, for routes that take one. An empty body
 * counts as `{}`. Resolves to a Response (a 400 naming the problem and where
 * it is) when the body is not JSON, not an object, or has a field the route
 * does not take.
 *
 * @example
 * const body = await readJsonObject(c, out, []); // admin routes take no fields
 * if (body instanceof Response) return body;
 */
export async function readJsonObject(
  c: Context,
  out: Responder,
  fields: readonly string[],
): Promise<Record<string, unknown> | Response> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const where = findJsonSyntaxError(text);
    return out.badInput(c, {
      field: 'body',
      where: 'body',
      expected: 'JSON',
      got: where
        ? `invalid JSON at line ${where.line}, column ${where.column} (position ${where.position}): ${where.problem}`
        : 'invalid JSON',
      fix: 'send no body or a JSON object with Content-Type: application/json',
      extra: where ? { position: where.position, line: where.line, column: where.column } : {},
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const got = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
    return out.badInput(c, { field: 'body', where: 'body', expected: 'a JSON object (or no body)', got });
  }
  const record = value as Record<string, unknown>;
  const unknown = Object.keys(record).find((key) => !fields.includes(key));
  if (unknown !== undefined) {
    const field = `body.${unknown.length > 40 ? `${unknown.slice(0, 40)}…` : unknown}`;
    const takes = fields.length === 0 ? 'no fields' : `only ${fields.map((f) => `"${f}"`).join(', ')}`;
    return out.badInput(c, {
      field,
      where: field,
      expected: takes,
      got: 'an unknown field',
      fix: fields.length === 0 ? 'send no body or {}' : `remove ${field}`,
    });
  }
  return record;
}
