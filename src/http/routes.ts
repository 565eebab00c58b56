import { type Context, Hono } from 'hono';
import type { HealthReport } from '../runtime/health.ts';

/**
 * What the HTTP surface reads from a runtime. The surface holds no state of
 * its own: every request asks the source afresh.
 */
export interface HttpSource {
  /** Every component and loop. Unhealthy if any of them is. */
  health(): Promise<HealthReport>;
  /** Ready for traffic: store reachable, runtime started and not stopping. */
  ready(): Promise<HealthReport>;
  /** The process is responsive. Synchronous on purpose: it must not wait on I/O. */
  live(): HealthReport;
  /** The Prometheus exposition: body and its content type. */
  metrics(): Promise<{ contentType: string; body: string }>;
}

/** Paths the app serves, each for GET (and HEAD, which Hono answers from GET). */
export const HTTP_ROUTES = ['/health', '/health/live', '/health/ready', '/metrics'] as const;

const NO_STORE = { 'cache-control': 'no-store' } as const;
const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', ...NO_STORE } as const;

/**
 * Build the HTTP app over `source`. Socket-free: test it with
 * `app.request('/health')`, serve it with `createHttpServer`.
 *
 * Health routes answer 200 when the report is healthy and 503 otherwise, so
 * load balancers and orchestrators need not parse the body; a source that
 * throws counts as unhealthy. Every error is a JSON body, never an HTML page
 * or a stack trace.
 *
 * @example
 * const app = createHttpApp(source);
 * const res = await app.request('/health/ready'); // 200 or 503, JSON report
 */
export function createHttpApp(source: HttpSource): Hono {
  // strict: false lets `/health/` match `/health`, as probes are often typed by hand.
  const app = new Hono({ strict: false });

  app.get('/health', (c) => healthResponse(c, () => source.health()));
  app.get('/health/live', (c) => healthResponse(c, async () => source.live()));
  app.get('/health/ready', (c) => healthResponse(c, () => source.ready()));
  app.get('/metrics', async (c) => {
    const { contentType, body } = await source.metrics();
    return c.body(body, 200, { 'content-type': contentType, ...NO_STORE });
  });

  // Registered after the GET handlers, so it only sees the other methods.
  for (const path of HTTP_ROUTES) {
    app.all(path, (c) => {
      const body = { error: 'method not allowed', method: c.req.method, path: c.req.path, allow: ['GET', 'HEAD'] };
      return json(c, 405, body, { allow: 'GET, HEAD' });
    });
  }

  app.notFound((c) => json(c, 404, { error: 'not found', path: c.req.path }));
  app.onError((error, c) => json(c, 500, { error: errorMessage(error), path: c.req.path }));
  return app;
}

async function healthResponse(c: Context, read: () => Promise<HealthReport>): Promise<Response> {
  let report: HealthReport;
  let text: string;
  try {
    report = await read();
    // Serialised here so a report that cannot be (a bigint or a cycle in a
    // component's extra fields) is unhealthy too, not a broken response.
    text = JSON.stringify(report);
  } catch (error) {
    return json(c, 503, { healthy: false, status: 'unhealthy', error: errorMessage(error) });
  }
  // Anything but an explicit `healthy: true` is unhealthy: a probe must fail closed.
  return c.body(text, report.healthy === true ? 200 : 503, JSON_HEADERS);
}

/** A JSON response with `cache-control: no-store`. */
function json(
  c: Context,
  status: 404 | 405 | 500 | 503,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Response {
  return c.body(JSON.stringify(body), status, { ...JSON_HEADERS, ...headers });
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
