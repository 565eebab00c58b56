import type { Context, Hono } from 'hono';
import type { ItemResult } from '../core/cycle-record.ts';
import type { WorkItem } from '../core/work-item.ts';
import { requireAdminToken } from './admin-auth.ts';
import { readJsonObject } from './json-body.ts';
import { errorMessage, quote, type Responder } from './respond.ts';
import type { HttpSource } from './routes.ts';
import { unknownLoop } from './status-routes.ts';

/** Suffix of a retried item's idempotency key: one retry of an item can be queued at a time. */
const RETRY_SUFFIX = '#retry';

/**
 * `POST /loops/:name/retry` with `{ "cycleId": "...", "key": "..." }`,
 * behind the admin token: puts a failed item of that cycle back in the
 * loop's queue (same key, priority and payload) and starts a cycle now,
 * which adopts it. 202 `{ loop, cycleId, key, queued }` once it is queued;
 * the outcome arrives as the item's events (`item.succeeded` /
 * `item.failed`) and in the new cycle's record.
 *
 * 404 for an unknown loop, cycle or key; 409 when that item did not fail,
 * or a retry of it is already queued. When a cycle of the loop is running,
 * the run-now is recorded as skipped and the item waits for the next one.
 */
export function registerRetryRoute(app: Hono, source: HttpSource, out: Responder): void {
  const admin = requireAdminToken(source.security.token, out);
  app.post('/loops/:name/retry', admin, async (c) => {
    const body = await readJsonObject(c, out, ['cycleId', 'key']);
    if (body instanceof Response) return body;
    const loop = c.req.param('name') ?? '';
    const missing = unknownLoop(c, out, source, loop);
    if (missing) return missing;
    const cycleId = requiredString(c, out, body, 'cycleId');
    if (cycleId instanceof Response) return cycleId;
    const key = requiredString(c, out, body, 'key');
    if (key instanceof Response) return key;
    try {
      const found = await failedResult(source, loop, cycleId, key);
      if (typeof found === 'string') return out.json(c, found.startsWith('no ') ? 404 : 409, { error: found });
      const queued = await source.admin.requeue(loop, cycleId, retryItem(found));
      if (queued === undefined) {
        return out.json(c, 409, { error: `a retry of item ${quote(key)} is already queued`, loop, key });
      }
      // Not awaited: the answer says it is queued; the run's outcome comes as events.
      void source.admin.run(loop).catch(() => undefined);
      return out.json(c, 202, { loop, cycleId, key, queued });
    } catch (error) {
      return out.json(c, 503, { error: `retry: the runtime could not answer: ${errorMessage(error)}`, loop, key });
    }
  });
}

/** The failed result, or why there is none to retry. */
async function failedResult(
  source: HttpSource,
  loop: string,
  cycleId: string,
  key: string,
): Promise<ItemResult | string> {
  const cycle = await source.cycle(cycleId);
  if (!cycle || cycle.loop !== loop) return `no cycle ${quote(cycleId)} of loop ${quote(loop)} in the store`;
  const result = (await source.items(cycleId)).find((r) => r.key === key);
  if (!result) return `no item ${quote(key)} in cycle ${quote(cycleId)}`;
  if (result.status !== 'failed') return `item ${quote(key)} did not fail (it ${result.status}): nothing to retry`;
  return result;
}

/** The work item that runs `result` again: same key, priority and payload; one queued retry at a time. */
export function retryItem(result: ItemResult): WorkItem {
  return {
    key: result.key,
    priority: result.priority,
    payload: result.payload,
    idempotencyKey: originalKey(result.idempotencyKey) + RETRY_SUFFIX,
  };
}

/** The idempotency key of the item as first planned (a retry's key without its suffix). */
export function originalKey(idempotencyKey: string): string {
  return idempotencyKey.endsWith(RETRY_SUFFIX) ? idempotencyKey.slice(0, -RETRY_SUFFIX.length) : idempotencyKey;
}

/** Whether a result is of a retry queued by this route. */
export function isRetry(result: Pick<ItemResult, 'idempotencyKey'>): boolean {
  return result.idempotencyKey.endsWith(RETRY_SUFFIX);
}

function requiredString(
  c: Context,
  out: Responder,
  body: Record<string, unknown>,
  field: 'cycleId' | 'key',
): string | Response {
  const value = body[field];
  if (typeof value === 'string' && value !== '') return value;
  return out.badInput(c, {
    field: `body.${field}`,
    where: `body.${field}`,
    expected:
      field === 'key' ? "the failed item's key, a non-empty string" : "the failed item's cycle id, a non-empty string",
    got: value === undefined ? 'nothing' : typeof value === 'string' ? 'an empty string' : `a ${typeof value}`,
    fix: 'send {"cycleId": "<cycle id>", "key": "<item key>"} as on the failed-items view',
  });
}
