import type { Hono } from 'hono';
import { requireAdminToken } from './admin-auth.ts';
import { readJsonObject } from './json-body.ts';
import { errorMessage, type Responder } from './respond.ts';

/**
 * Admin actions a deployment's part contributes (e.g. the supervisor's
 * start/stop/restart of one service), without the HTTP surface knowing the
 * part: group `services` with verb `restart` is served as
 * `POST /services/:name/restart`, behind the admin token like every
 * state-changing route.
 *
 * @example
 * const services: AdminActionGroup = { names: () => ['web'], verbs: { restart: (name) => supervisor.restart(name) } };
 */
export interface AdminActionGroup {
  /** The targets the verbs act on, for the 404 that lists them. */
  names(): readonly string[];
  /** Verb → action on one target; what it resolves to (JSON-safe) is the 200 body. A throw is a 409 with its message. */
  readonly verbs: Readonly<Record<string, (name: string) => unknown>>;
}

/** Paths of the app's own routes: a group may not take them. */
const RESERVED = new Set([
  'health',
  'metrics',
  'status',
  'tasks',
  'loops',
  'events',
  'shutdown',
  'dashboard',
  'cycles',
  'items',
]);
const SEGMENT = /^[a-z][a-z0-9_-]*$/;

/**
 * Throws for a group or verb that is not a path segment, or a group that
 * would shadow one of the app's routes: what {@link registerAdminActions}
 * refuses, checked without building an app (a server builds its app on the
 * first request that needs it, and refuses bad actions at start).
 */
export function checkAdminActions(groups: Readonly<Record<string, AdminActionGroup>>): void {
  for (const [group, actions] of Object.entries(groups)) {
    if (!SEGMENT.test(group) || RESERVED.has(group)) {
      throw new Error(`admin action group "${group}": expected a path segment other than ${[...RESERVED].join(', ')}`);
    }
    for (const verb of Object.keys(actions.verbs)) {
      if (!SEGMENT.test(verb))
        throw new Error(`admin action "${group}/${verb}": expected a path segment like "restart"`);
    }
  }
}

/**
 * Mounts each group's verbs as `POST /<group>/:name/<verb>`. Bodies are
 * optional; when sent they must be a JSON object with no fields. Throws at
 * build time for a group or verb that is not a path segment, or a group
 * that would shadow one of the app's routes.
 */
export function registerAdminActions(
  app: Hono,
  groups: Readonly<Record<string, AdminActionGroup>>,
  token: string,
  out: Responder,
): void {
  checkAdminActions(groups);
  const admin = requireAdminToken(token, out);
  for (const [group, actions] of Object.entries(groups)) {
    for (const [verb, act] of Object.entries(actions.verbs)) {
      app.post(`/${group}/:name/${verb}`, admin, async (c) => {
        const body = await readJsonObject(c, out, []);
        if (body instanceof Response) return body;
        const name = c.req.param('name') ?? '';
        const known = actions.names();
        if (!known.includes(name)) {
          return out.json(c, 404, {
            error: `unknown ${group.replace(/s$/, '')} "${name}"; ${group} in this config: ${known.join(', ') || '(none)'}`,
            known,
          });
        }
        try {
          return out.json(c, 200, (await act(name)) ?? { [group.replace(/s$/, '')]: name, action: verb });
        } catch (error) {
          return out.json(c, 409, { error: errorMessage(error), name, action: verb });
        }
      });
    }
  }
}
