import type { Context, Hono } from 'hono';
import type { HealthReport } from '../runtime/health.ts';
import { detailedHealth } from './detailed-health.ts';
import { errorMessage, JSON_HEADERS, quote, type Responder } from './respond.ts';
import type { HttpSource } from './routes.ts';

/**
 * `/health`, `/health/live`, `/health/ready`, `/health/detailed` and one path
 * per named component of `/health` (`/health/store`, `/health/loop:prices`,
 * `/health/breaker:llm_service`, a user's check by its name).
 *
 * `/health`, its components and `/health/detailed` serve the runtime's last
 * full report (computed once per interval in the background) with its
 * `ageMs`; `/health/live` and `/health/ready` are computed per request and
 * cheap (no loop summaries, no user checks).
 *
 * Each answers 200 when healthy and 503 otherwise, so probes need not parse
 * the body; a source that throws, or a report that is not explicitly
 * `healthy: true`, is unhealthy (probes fail closed).
 */
export function registerHealthRoutes(app: Hono, source: HttpSource, out: Responder): void {
  app.get('/health', (c) => report(c, out, () => source.health()));
  app.get('/health/live', (c) => report(c, out, async () => source.live()));
  app.get('/health/ready', (c) => report(c, out, () => source.ready()));
  app.get('/health/detailed', async (c) => {
    let body: ReturnType<typeof detailedHealth>;
    let text: string;
    try {
      const [snapshot, health] = await Promise.all([source.snapshot(), source.health()]);
      body = detailedHealth(snapshot, health);
      text = JSON.stringify(body);
    } catch (error) {
      return unhealthy(c, out, error);
    }
    return out.text(c, body.healthy === true ? 200 : 503, text, 'application/json; charset=utf-8');
  });
  // Registered last: the fixed paths above win over a component of the same name.
  app.get('/health/:component', async (c) => {
    const name = c.req.param('component');
    let health: HealthReport;
    try {
      health = await source.health();
    } catch (error) {
      return unhealthy(c, out, error);
    }
    const component = Object.hasOwn(health.components, name) ? health.components[name] : undefined;
    if (!component) {
      const known = Object.keys(health.components).sort();
      return out.json(c, 404, {
        error: `unknown health component ${quote(name)}; known: ${known.join(', ') || '(none)'}`,
        known,
      });
    }
    const healthy = component.healthy === true;
    const status = healthy ? 'healthy' : 'unhealthy';
    const age = health.ageMs !== undefined && { ageMs: health.ageMs };
    const body = { component: name, status, checkedAt: health.checkedAt, ...age, ...component };
    return serialise(c, out, healthy, body);
  });
}

async function report(c: Context, out: Responder, read: () => Promise<HealthReport>): Promise<Response> {
  const { status, text } = await healthAnswer(read);
  return out.text(c, status, text, JSON_HEADERS['content-type']);
}

/**
 * What `/health`, `/health/live` and `/health/ready` answer, as a status
 * and the JSON text before redaction: 200 and the report when it is
 * explicitly healthy, else 503; 503 with the error when reading or
 * serialising the report fails. Shared with the server's fast path
 * (probe-handler.ts), which answers these routes without the app.
 */
export async function healthAnswer(read: () => Promise<HealthReport>): Promise<HealthAnswer> {
  let health: HealthReport;
  try {
    health = await read();
  } catch (error) {
    return failedHealthAnswer(error);
  }
  return healthAnswerOf(health);
}

/** A status and the JSON text before redaction, as {@link healthAnswer} gives them. */
export interface HealthAnswer {
  status: 200 | 503;
  text: string;
}

/** {@link healthAnswer} of a report already read (the fast path reads `live` without a promise). */
export function healthAnswerOf(health: HealthReport): HealthAnswer {
  try {
    return { status: health.healthy === true ? 200 : 503, text: JSON.stringify(health) };
  } catch (error) {
    return failedHealthAnswer(error);
  }
}

/** {@link healthAnswer} when reading the report failed. */
export function failedHealthAnswer(error: unknown): HealthAnswer {
  return { status: 503, text: JSON.stringify(unhealthyBody(error)) };
}

/**
 * Serialised here so a report that cannot be (a bigint or a cycle in a
 * component's extra fields) is unhealthy too, not a broken response.
 */
function serialise(c: Context, out: Responder, healthy: boolean, body: unknown): Response {
  let text: string;
  try {
    text = JSON.stringify(body);
  } catch (error) {
    return unhealthy(c, out, error);
  }
  return out.text(c, healthy ? 200 : 503, text, 'application/json; charset=utf-8');
}

function unhealthy(c: Context, out: Responder, error: unknown): Response {
  return out.json(c, 503, unhealthyBody(error));
}

function unhealthyBody(error: unknown) {
  return { healthy: false, status: 'unhealthy', error: errorMessage(error) };
}
