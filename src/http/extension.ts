import type { Hono } from 'hono';
import type { Clock } from '../time/clock.ts';
import type { Wakeups } from './log-stream.ts';
import type { Responder } from './respond.ts';

/** What the app lends the routes a plug-in adds: the same clock, redacting responder and stream wake-ups as its own routes. */
export interface HttpTools {
  readonly clock: Clock;
  /** JSON bodies and errors, scrubbed of the admin token like every other route's. */
  readonly responder: Responder;
  /** The server's stream wake-ups: a stream reads the event log at once when events are appended. */
  readonly wakeups: Wakeups;
}

/**
 * Routes a plug-in (a recipe) adds under its own path. The app mounts them
 * at `path` behind the same guards as every route (Host allowlist, body
 * limit); `panel`, when given, is served as `<path>/panel.js` for the
 * dashboard.
 */
export interface HttpExtension {
  /** The mount point, e.g. `/signals`. */
  readonly path: string;
  readonly register?: (app: Hono, tools: HttpTools) => void;
  /** An ES module's source for the dashboard (see the dashboard's panel loader). */
  readonly panel?: { readonly title: string; readonly script: string };
}
