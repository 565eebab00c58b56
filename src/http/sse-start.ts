import type { Context } from 'hono';
import type { Responder } from './respond.ts';

/** What a stream does without a start position, for the messages of a bad one. */
export interface StartWords {
  /** `"from now"`, `"from recent history"`. */
  readonly without: string;
  /** Appended to the expected value of `?after=`, e.g. `, e.g. the lastEventId of GET /<recipe>`. */
  readonly afterExample?: string;
}

/**
 * Where an SSE stream over the event log starts: after the `Last-Event-ID`
 * header (a reconnecting EventSource), else after `?after=`; undefined when
 * neither is given; a JSON 400 (the header's value never echoed) when one is
 * not an event id.
 */
export function startAfter(c: Context, out: Responder, words: StartWords): number | undefined | Response {
  const header = c.req.header('last-event-id');
  if (header !== undefined && header.trim() !== '') {
    const seq = parseSeq(header);
    if (seq !== undefined) return seq;
    // The header's value is not echoed: request headers are never written back.
    return out.badInput(c, {
      field: 'Last-Event-ID',
      where: 'header Last-Event-ID',
      expected: 'an event id (a non-negative integer) from this stream',
      got: `a value that is not one (${header.length} characters)`,
      fix: `reconnect without it to start ${words.without}`,
    });
  }
  const query = c.req.query('after');
  if (query === undefined) return undefined;
  const seq = parseSeq(query);
  if (seq !== undefined) return seq;
  return out.badInput(c, {
    field: 'after',
    where: 'query after',
    expected: `an event id (a non-negative integer)${words.afterExample ?? ''}`,
    got: query === '' ? 'an empty value' : JSON.stringify(query.slice(0, 40)),
    fix: `omit it to start ${words.without}`,
  });
}

/** An event id: digits only, at most 15 of them (a safe integer). */
export function parseSeq(text: string): number | undefined {
  const trimmed = text.trim();
  return /^\d{1,15}$/.test(trimmed) ? Number(trimmed) : undefined;
}
