import type { Context, Hono } from 'hono';
import type { CycleOutcomeKind } from '../core/cycle-record.ts';
import { historyPoint, newestFirst, SCAN_PER_LOOP } from './cycle-history.ts';
import { failedItems } from './failed-items.ts';
import { errorMessage, quote, type Responder } from './respond.ts';
import type { HttpSource } from './routes.ts';
import { queryLimit, read, unknownLoop } from './status-routes.ts';

export const OUTCOMES: readonly CycleOutcomeKind[] = ['ok', 'partial', 'failed', 'skipped', 'running'];

/**
 * The dashboard's read routes over the stored history (every answer comes
 * from the store, so it is the same after a reload and on every instance):
 *
 * - `GET /cycles?loop=&outcome=&limit=`: recent cycle records of every loop
 *   (or one), newest first, optionally only one outcome;
 * - `GET /cycles/:id`: one cycle's record and its item results (payload,
 *   output or error, attempts, duration) in finish order; 404 when unknown;
 * - `GET /items/failed?loop=&limit=`: failed item results, newest first,
 *   each with the instance (`owner`) that ran it and the outcome of its
 *   latest retry, if any (failed-items.ts);
 * - `GET /loops/:name/history?limit=`: one chart point per finished cycle
 *   (item p50/p95 and peak items in flight), oldest first.
 *
 * The filtered lists read the newest {@link SCAN_PER_LOOP} cycles of each
 * loop and filter those (the store has no query by outcome): the answer says
 * so in `scanned`.
 */
export function registerHistoryRoutes(app: Hono, source: HttpSource, out: Responder): void {
  app.get('/cycles', async (c) => {
    const query = filters(c, out, source);
    if (query instanceof Response) return query;
    return read(c, out, 'cycles', async () => {
      const lists = await Promise.all(query.loops.map((loop) => source.cycles(loop, SCAN_PER_LOOP)));
      const cycles = newestFirst(lists.flat().filter((r) => !query.outcome || r.outcome.kind === query.outcome));
      return { cycles: cycles.slice(0, query.limit), scanned: { perLoop: SCAN_PER_LOOP, loops: query.loops } };
    });
  });
  app.get('/cycles/:id', async (c) => {
    const id = c.req.param('id');
    try {
      const cycle = await source.cycle(id);
      if (!cycle) return out.json(c, 404, { error: `no cycle ${quote(id)} in the store (it may have been pruned)` });
      return out.json(c, 200, { cycle, items: await source.items(cycle.id) });
    } catch (error) {
      return out.json(c, 503, { error: `cycle: the runtime could not answer: ${errorMessage(error)}` });
    }
  });
  app.get('/items/failed', async (c) => {
    const query = filters(c, out, source, false);
    if (query instanceof Response) return query;
    return read(c, out, 'failed items', async () => {
      const items = await failedItems(source, query.loops, query.limit);
      return { items, scanned: { perLoop: SCAN_PER_LOOP, loops: query.loops } };
    });
  });
  app.get('/loops/:name/history', async (c) => {
    const name = c.req.param('name');
    const limit = queryLimit(c, out, 50, SCAN_PER_LOOP);
    if (limit instanceof Response) return limit;
    const missing = unknownLoop(c, out, source, name);
    if (missing) return missing;
    return read(c, out, 'history', async () => {
      const records = await source.cycles(name, limit);
      const points = await Promise.all(
        records.map(async (r) => (r.finishedAt === null ? undefined : historyPoint(r, await source.items(r.id)))),
      );
      return { loop: name, points: points.filter((p) => p !== undefined).reverse() };
    });
  });
}

interface Filters {
  loops: string[];
  outcome?: CycleOutcomeKind;
  limit: number;
}

/** `loop`, `outcome` (when `withOutcome`) and `limit` from the query, or a 400/404 naming the bad one. */
function filters(c: Context, out: Responder, source: HttpSource, withOutcome = true): Filters | Response {
  const limit = queryLimit(c, out, 50, SCAN_PER_LOOP);
  if (limit instanceof Response) return limit;
  const loop = c.req.query('loop');
  if (loop !== undefined && loop !== '') {
    const missing = unknownLoop(c, out, source, loop);
    if (missing) return missing;
  }
  const loops = loop ? [loop] : source.admin.loops();
  const outcome = withOutcome ? c.req.query('outcome') : undefined;
  if (outcome === undefined || outcome === '') return { loops, limit };
  if (!(OUTCOMES as readonly string[]).includes(outcome)) {
    return out.badInput(c, {
      field: 'outcome',
      where: 'query outcome',
      expected: `one of ${OUTCOMES.join(', ')}`,
      got: quote(outcome),
      fix: 'omit it for every outcome',
    });
  }
  return { loops, outcome: outcome as CycleOutcomeKind, limit };
}
