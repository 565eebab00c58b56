import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Redact } from './redact.ts';

export const NO_STORE = { 'cache-control': 'no-store' } as const;
export const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', ...NO_STORE } as const;

/**
 * Every response the HTTP surface writes goes through one of these, so every
 * body is redacted and every JSON body has the same headers.
 */
export interface Responder {
  /** A JSON response with `cache-control: no-store`. */
  json(c: Context, status: ContentfulStatusCode, body: unknown, headers?: Record<string, string>): Response;
  /** Already-serialised text with its content type. */
  text(c: Context, status: ContentfulStatusCode, body: string, contentType: string): Response;
  /**
   * 400 for bad input, in the project's one template:
   * `GET /loops/x/cycles: query limit: expected an integer from 1 to 1000, got "abc"`.
   */
  badInput(c: Context, problem: BadInput): Response;
  /** The redaction every body passes through (for streams that write frames themselves). */
  readonly redact: Redact;
}

export interface BadInput {
  /** Machine-readable name of the bad field: `limit`, `Last-Event-ID`, `body`, `body.force`. */
  field: string;
  /** How the message names it: `query limit`, `header Last-Event-ID`, `body`. */
  where: string;
  expected: string;
  got: string;
  /** How to fix it, when known. */
  fix?: string;
  /** Extra JSON fields (a JSON error's position, line and column). */
  extra?: Record<string, unknown>;
}

export function createResponder(redact: Redact): Responder {
  const text: Responder['text'] = (c, status, body, contentType) =>
    c.body(redact(body), status, { 'content-type': contentType, ...NO_STORE });
  const json: Responder['json'] = (c, status, body, headers = {}) =>
    c.body(redact(JSON.stringify(body)), status, { ...JSON_HEADERS, ...headers });
  return {
    json,
    text,
    redact,
    badInput(c, p) {
      const fix = p.fix ? `; ${p.fix}` : '';
      const error = `${c.req.method} ${c.req.path}: ${p.where}: expected ${p.expected}, got ${p.got}${fix}`;
      return json(c, 400, { error, field: p.field, ...p.extra });
    },
  };
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A user-supplied value for an error message: quoted, and cut to 40 characters. */
export function quote(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}
