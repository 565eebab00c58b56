/**
 * The reconcile recipe's HTTP surface, mounted at `/reconcile`:
 *
 * - `GET /reconcile[?loop=name]`: the last gap report of the loop (default
 *   the first reconcile loop), the seed's gaps.json (see gap-report.ts),
 *   plus `loops`. 404 for an unknown loop or before the first reconcile.
 * - `GET /reconcile/history[?loop=name][&limit=n]`: the last n reports'
 *   totals by priority and coverage ratios, oldest first (the panel's
 *   "gaps over time").
 */
import type { Context, Hono } from 'hono';
import type { HttpTools } from '../../http/extension.ts';
import { quote } from '../../http/respond.ts';
import type { Store } from '../../storage/store.ts';
import type { ReconcileLoop } from './reconcile-loop.ts';
import { NAMESPACE } from './status-lines.ts';

export function registerReconcileRoutes(
  app: Hono,
  loops: readonly ReconcileLoop[],
  store: () => Store,
  tools: HttpTools,
): void {
  const out = tools.responder;
  const names = loops.map((l) => l.name);
  const choose = (c: Context): ReconcileLoop | Response => {
    const asked = c.req.query('loop');
    const loop = asked === undefined ? loops[0] : loops.find((l) => l.name === asked);
    if (!loop) {
      return out.json(c, 404, {
        error:
          asked === undefined
            ? 'no reconcile loop runs here'
            : `unknown reconcile loop ${quote(asked)}; reconcile loops: ${names.join(', ') || '(none)'}`,
        loops: names,
      });
    }
    return loop;
  };

  app.get('/', (c) => {
    const loop = choose(c);
    if (loop instanceof Response) return loop;
    const report = loop.report;
    if (!report) {
      return out.json(c, 404, {
        error: `no report yet for reconcile loop ${quote(loop.name)}: its first cycle has not run`,
        loops: names,
      });
    }
    return out.json(c, 200, { ...report, loops: names });
  });

  app.get('/history', async (c) => {
    const loop = choose(c);
    if (loop instanceof Response) return loop;
    const limitText = c.req.query('limit') ?? '200';
    const limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 2_000) {
      return out.badInput(c, {
        field: 'limit',
        where: 'query limit',
        expected: 'a whole number from 1 to 2000',
        got: quote(limitText),
      });
    }
    try {
      const all = await readTail(store(), `${NAMESPACE}/${loop.name}/reports`, limit);
      return out.json(c, 200, { loop: loop.name, entries: all.map((e) => e.value) });
    } catch (error) {
      return out.json(c, 503, { error: `reconcile: cannot read the history: ${(error as Error).message}` });
    }
  });
}

/** The newest `limit` entries, oldest first (a journal reads oldest first; the recipe trims it to 2,000). */
async function readTail(store: Store, journal: string, limit: number) {
  const entries: Array<{ seq: number; value: unknown }> = [];
  let after = 0;
  for (;;) {
    const page = await store.journals.read(journal, { after, limit: 1_000 });
    if (page.length === 0) break;
    entries.push(...page);
    if (entries.length > limit) entries.splice(0, entries.length - limit);
    after = (page.at(-1) as { seq: number }).seq;
  }
  return entries;
}
