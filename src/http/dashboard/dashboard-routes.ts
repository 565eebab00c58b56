import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Context, Hono } from 'hono';

/**
 * The page's Content-Security-Policy. Everything comes from this origin: one
 * script file, one stylesheet and an icon; no inline script or style, no
 * framing, no forms, no plugins.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "connect-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Paths the dashboard serves (GET and HEAD; other methods get a JSON 405). */
export const DASHBOARD_ROUTES = [
  '/',
  '/dashboard/dashboard.js',
  '/dashboard/api.js',
  '/dashboard/dom.js',
  '/dashboard/admin.js',
  '/dashboard/views.js',
  '/dashboard/retry.js',
  '/dashboard/dashboard.css',
  '/dashboard/icon.svg',
] as const;

interface Asset {
  body: string;
  contentType: string;
  etag: string;
}

const FILES: Record<(typeof DASHBOARD_ROUTES)[number], { file: string; contentType: string }> = {
  '/': { file: 'index.html', contentType: 'text/html; charset=utf-8' },
  '/dashboard/dashboard.js': { file: 'dashboard.js', contentType: 'text/javascript; charset=utf-8' },
  '/dashboard/api.js': { file: 'api.js', contentType: 'text/javascript; charset=utf-8' },
  '/dashboard/dom.js': { file: 'dom.js', contentType: 'text/javascript; charset=utf-8' },
  '/dashboard/admin.js': { file: 'admin.js', contentType: 'text/javascript; charset=utf-8' },
  '/dashboard/views.js': { file: 'views.js', contentType: 'text/javascript; charset=utf-8' },
  '/dashboard/retry.js': { file: 'retry.js', contentType: 'text/javascript; charset=utf-8' },
  '/dashboard/dashboard.css': { file: 'dashboard.css', contentType: 'text/css; charset=utf-8' },
  '/dashboard/icon.svg': { file: 'icon.svg', contentType: 'image/svg+xml' },
};

const SECURITY_HEADERS = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
} as const;

let assets: Map<string, Asset> | undefined;

/** The page's files, read once from `./assets/` next to this module. */
function loadAssets(): Map<string, Asset> {
  if (assets) return assets;
  const loaded = new Map<string, Asset>();
  for (const [path, { file, contentType }] of Object.entries(FILES)) {
    const body = readFileSync(new URL(`./assets/${file}`, import.meta.url), 'utf8');
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    loaded.set(path, { body, contentType, etag });
  }
  assets = loaded;
  return loaded;
}

/**
 * Serves the dashboard (GET / and its assets). The page reads everything
 * through the JSON and SSE routes (`/status`, `/loops/:name/cycles`,
 * `/loops/:name/history`, `/cycles`, `/cycles/:id`, `/items/failed`,
 * `/tasks`, `/events`), so it works with no user connected before: history
 * comes from the store, live changes from the event stream. Its actions
 * call the admin routes with the token the operator enters in the page.
 *
 * The files are read from disk once, here, and served from memory with an
 * ETag (`cache-control: no-cache`: revalidated on each load, 304 when
 * unchanged) and the security headers (CSP, nosniff, no referrer, no
 * framing).
 */
export function registerDashboard(app: Hono): void {
  const files = loadAssets();
  for (const path of DASHBOARD_ROUTES) {
    const asset = files.get(path) as Asset;
    app.get(path, (c) => serve(c, asset));
  }
  // After the GET handlers, so these only see the other methods (HEAD is answered from GET).
  for (const path of DASHBOARD_ROUTES) {
    app.all(path, (c) =>
      c.body(
        JSON.stringify({ error: 'method not allowed', method: c.req.method, path: c.req.path, allow: ['GET', 'HEAD'] }),
        405,
        { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', allow: 'GET, HEAD' },
      ),
    );
  }
}

function serve(c: Context, asset: Asset): Response {
  const headers = { ...SECURITY_HEADERS, 'cache-control': 'no-cache', etag: asset.etag };
  const ifNoneMatch = c.req.header('if-none-match');
  if (ifNoneMatch?.split(',').some((tag) => tag.trim() === asset.etag)) return c.body(null, 304, headers);
  return c.body(asset.body, 200, { ...headers, 'content-type': asset.contentType });
}
