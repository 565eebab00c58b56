import type { Context, Hono } from 'hono';
import type { Clock } from '../time/clock.ts';
import { requireAdminToken } from './admin-auth.ts';
import { readJsonObject } from './json-body.ts';
import { errorMessage, type Responder } from './respond.ts';
import type { HttpSource } from './routes.ts';
import { unknownLoop } from './status-routes.ts';

/**
 * The state-changing routes, each behind the admin token
 * (`Authorization: Bearer <http.token>`; see admin-auth.ts):
 *
 * - `POST /loops/:name/run`: one cycle now; 200 with its record, whatever
 *   its outcome (a cycle skipped for overlap is a record saying so);
 * - `POST /loops/:name/pause`, `POST /loops/:name/resume`: 200 `{ loop, paused }`;
 * - `POST /shutdown`: 202; the graceful stop begins once the answer is out.
 *
 * Bodies are optional; when sent they must be a JSON object with no fields.
 * The token is checked before anything else, so an unauthenticated client
 * learns neither loop names nor body rules.
 */
export function registerAdminRoutes(app: Hono, source: HttpSource, out: Responder, clock: Clock): void {
  const admin = requireAdminToken(source.security.token, out);

  app.post('/loops/:name/run', admin, (c) =>
    loopAction(c, out, source, async (loop) => {
      try {
        return out.json(c, 200, await source.admin.run(loop));
      } catch (error) {
        // The loop exists (checked above): the runtime refused, e.g. while stopping.
        return out.json(c, 409, { error: errorMessage(error), loop });
      }
    }),
  );
  app.post('/loops/:name/pause', admin, (c) =>
    loopAction(c, out, source, async (loop) => {
      source.admin.pause(loop);
      return out.json(c, 200, { loop, paused: true });
    }),
  );
  app.post('/loops/:name/resume', admin, (c) =>
    loopAction(c, out, source, async (loop) => {
      source.admin.resume(loop);
      return out.json(c, 200, { loop, paused: false });
    }),
  );
  app.post('/shutdown', admin, async (c) => {
    const body = await readJsonObject(c, out, []);
    if (body instanceof Response) return body;
    // On a timer, so the 202 is written before the stop closes this connection.
    clock.setTimer(0, () => source.admin.shutdown());
    return out.json(c, 202, { status: 'shutting down' });
  });
}

async function loopAction(
  c: Context,
  out: Responder,
  source: HttpSource,
  act: (loop: string) => Promise<Response>,
): Promise<Response> {
  const body = await readJsonObject(c, out, []);
  if (body instanceof Response) return body;
  const loop = c.req.param('name') ?? '';
  return unknownLoop(c, out, source, loop) ?? act(loop);
}
