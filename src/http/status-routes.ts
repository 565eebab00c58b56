import type { Context, Hono } from 'hono';
import { redactStoreUrl } from '../storage/open-store.ts';
import { errorMessage, quote, type Responder } from './respond.ts';
import type { HttpSource } from './routes.ts';

export const CYCLES_DEFAULT_LIMIT = 50;
export const CYCLES_MAX_LIMIT = 1000;

/**
 * The read-only views: `/status` (the runtime's snapshot), `/tasks` (the
 * queue by priority and loop), `/loops/:name/cycles?limit=N` (recent cycle
 * records, newest first) and `/metrics` (Prometheus).
 *
 * A source that fails answers 503 (the runtime cannot say right now), never
 * a 500: nothing a client sends can make these throw.
 */
export function registerStatusRoutes(app: Hono, source: HttpSource, out: Responder): void {
  app.get('/status', (c) =>
    read(c, out, 'status', async () => {
      const snapshot = await source.snapshot();
      return { ...snapshot, store: redactStoreUrl(snapshot.store) };
    }),
  );
  app.get('/tasks', (c) => read(c, out, 'tasks', () => source.tasks()));
  app.get('/loops/:name/cycles', async (c) => {
    const name = c.req.param('name');
    const limit = queryLimit(c, out, CYCLES_DEFAULT_LIMIT, CYCLES_MAX_LIMIT);
    if (limit instanceof Response) return limit;
    const missing = unknownLoop(c, out, source, name);
    if (missing) return missing;
    return read(c, out, 'cycles', () => source.cycles(name, limit));
  });
  app.get('/metrics', async (c) => {
    const { contentType, body } = await source.metrics();
    return out.text(c, 200, body, contentType);
  });
}

/** 404 naming the known loops, or undefined when `name` is one. */
export function unknownLoop(c: Context, out: Responder, source: HttpSource, name: string): Response | undefined {
  const known = source.admin.loops();
  if (known.includes(name)) return undefined;
  return out.json(c, 404, {
    error: `unknown loop ${quote(name)}; loops in this config: ${known.join(', ') || '(none)'}`,
    known,
  });
}

/** The `limit` query parameter (`fallback` when absent), or a 400 naming it. */
export function queryLimit(c: Context, out: Responder, fallback: number, max: number): number | Response {
  const raw = c.req.query('limit');
  if (raw === undefined) return fallback;
  const limit = /^\d{1,7}$/.test(raw) ? Number(raw) : Number.NaN;
  if (limit >= 1 && limit <= max) return limit;
  return out.badInput(c, {
    field: 'limit',
    where: 'query limit',
    expected: `an integer from 1 to ${max}`,
    got: Number.isNaN(limit) ? (raw === '' ? 'an empty value' : quote(raw)) : String(limit),
    fix: `omit it for the newest ${fallback}`,
  });
}

/** 200 with what `load` resolves to; 503 naming `what` when it rejects. */
export async function read(c: Context, out: Responder, what: string, load: () => Promise<unknown>): Promise<Response> {
  try {
    return out.json(c, 200, await load());
  } catch (error) {
    return out.json(c, 503, { error: `${what}: the runtime could not answer: ${errorMessage(error)}` });
  }
}
