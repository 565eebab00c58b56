import { TerminalError } from '../../core/errors.ts';
import type { Collector } from './collector.ts';
import { compileTemplate } from './key-template.ts';

export interface HttpCollectorOptions {
  /** `http://127.0.0.1:9000/collect/{source}?date={date}`: placeholders as the command's, URL-encoded. */
  readonly url: string;
  /** Default POST. */
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * A collector that asks a service to collect a gap: one HTTP request per
 * collection, the gap (with `path` and `attempt`) as a JSON body (POST,
 * PUT). A 2xx answer means the service wrote the object (the recipe then
 * checks it is there); 429 and 5xx fail the attempt (retried per the
 * loop's policy); any other status fails the item for good (the request is
 * wrong; retrying would not help). The attempt's signal aborts the request:
 * the item's timeout (`collector.timeout` + 5 s), the budget, shutdown.
 */
export function httpCollector(options: HttpCollectorOptions): Collector {
  const template = compileTemplate(options.url);
  return async ({ gap, path, signal, attempt }) => {
    const fields: Record<string, string> = {};
    const raw = { ...gap.fields, key: gap.key, path, reason: gap.reason, priority: gap.priority, source: gap.source };
    for (const [k, v] of Object.entries(raw)) fields[k] = encodeURIComponent(v);
    const url = template.render(fields);
    const withBody = options.method !== 'GET';
    const response = await fetch(url, {
      method: options.method,
      headers: { ...(withBody && { 'content-type': 'application/json' }), ...options.headers },
      ...(withBody && { body: JSON.stringify({ ...gap, path, attempt }) }),
      signal,
    });
    const text = await response.text();
    if (response.ok) {
      try {
        return text === '' ? { status: response.status } : JSON.parse(text);
      } catch {
        return { status: response.status, body: text.slice(0, 500) };
      }
    }
    const message = `collect ${gap.key}: ${options.method} ${url} answered ${response.status}: ${text.slice(0, 200)}`;
    if (response.status === 429 || response.status >= 500) throw new Error(message);
    throw new TerminalError(message);
  };
}
