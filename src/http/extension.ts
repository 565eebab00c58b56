import type { Hono, MiddlewareHandler } from 'hono';
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
  /** The admin routes' guard (`Authorization: Bearer <http.token>`): put it before every state-changing route. */
  readonly admin: MiddlewareHandler;
}

/**
 * Routes a plug-in (a recipe) adds under its own path. The app mounts them
 * at `path` behind the same guards as every route (Host allowlist, body
 * limit); `panel`, when given, is served as `<path>/panel.js` (and its
 * style as `<path>/panel.css`) for the dashboard.
 */
export interface HttpExtension {
  /** The mount point, e.g. `/inventory`. */
  readonly path: string;
  /**
   * Adds the routes. A route that throws an HTTPException with a 4xx status (from any copy of hono,
   * the user's own included) answers that status with `{ error: message, path }`; anything else
   * thrown is a 500 with the error's (scrubbed) message.
   */
  readonly register?: (app: Hono, tools: HttpTools) => void;
  /** A dashboard panel's module and stylesheet (see {@link DashboardPanel}). */
  readonly panel?: DashboardPanel;
}

/**
 * A plug-in's (a recipe's) dashboard panel. The app serves `script`, an ES
 * module's source, at `<path>/panel.js`, and `style`, when given, at
 * `<path>/panel.css` (the module links it itself, e.g. with
 * `helpers.stylesheet(new URL('./panel.css', import.meta.url).pathname)`).
 *
 * When `/status` lists the panel, the dashboard adds a
 * `<section class="panel" id="<recipe>-panel">` whose first child is a
 * `.section-head` holding `<h2 id="<recipe>-panel-heading">title</h2>`,
 * imports the module once and awaits its exported `mount(section, helpers)`.
 * The panel fills the section; it may append to the head (a hint in the
 * `h2`, a badge) or hide the section; ids it adds start with the recipe's
 * name. `helpers` lends it the page's utilities, so
 * it renders like the rest of the page: `el(tag, attrs, ...children)`,
 * `setText(node, text)`, `fetchJson(path)` (rejects with an Error whose
 * `status` is the HTTP status), `num(v)`, `formatMs`, `formatDuration`,
 * `formatAge`, `formatTime`, `formatDateTime`, `serverNow()`,
 * `tickTime(tickId)`, `errorText(error)` and `stylesheet(href)`. A module
 * that fails to load, or a `mount` that throws or rejects, leaves one error
 * line in its section; the rest of the page carries on. The page's CSP
 * holds: same-origin requests only, no inline script or style; write data
 * with `textContent`, never `innerHTML`.
 *
 * There is no build step: a recipe reads its panel's files from its own
 * folder when it starts, so they ship beside its code.
 *
 * @example
 * // panel.js
 * export function mount(section, { el }) {
 *   section.append(el('p', {}, 'hello from the recipe'));
 * }
 */
export interface DashboardPanel {
  /** The section's heading. */
  readonly title: string;
  /** The ES module's source (it exports `mount(section, helpers)`). */
  readonly script: string;
  /** A stylesheet's source, served at `<path>/panel.css`. */
  readonly style?: string;
}
