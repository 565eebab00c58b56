/**
 * The dashboard's routes on a bare Hono app (no runtime, no socket): the page
 * and its assets, their headers, and static checks of the files the browser
 * runs (the module parses, uses no HTML sinks, needs nothing the CSP forbids).
 * test/dashboard-browser.test.ts runs the page for real against a runtime.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Hono } from 'hono';
import { DASHBOARD_CSP, DASHBOARD_ROUTES, registerDashboard } from '../src/http/dashboard/dashboard-routes.ts';

const run = promisify(execFile);

function dashboardApp(): Hono {
  const app = new Hono();
  registerDashboard(app);
  return app;
}

describe('dashboard routes', () => {
  let dir: string;
  let app: Hono;
  let html: string;
  let js: string;
  /** Every module of the page: dashboard.js and what it imports. */
  let modules: Map<string, string>;
  let css: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'autoloop-dashboard-'));
    app = dashboardApp();
    html = await (await app.request('/')).text();
    js = await (await app.request('/dashboard/dashboard.js')).text();
    modules = new Map();
    for (const path of DASHBOARD_ROUTES.filter((r) => r.endsWith('.js'))) {
      modules.set(path, await (await app.request(path)).text());
    }
    css = await (await app.request('/dashboard/dashboard.css')).text();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('GET / is the HTML page with the security headers', async () => {
    const res = await app.request('/');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.equal(csp, DASHBOARD_CSP);
    for (const directive of ["default-src 'self'", "connect-src 'self'", "script-src 'self'", "style-src 'self'"]) {
      assert.ok(csp.split('; ').includes(directive), `CSP has ${directive}: ${csp}`);
    }
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, 'the page needs no inline code and no other origin');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.match(csp, /frame-ancestors 'none'/);
    const body = await res.text();
    assert.match(body, /^<!doctype html>/i);
    assert.match(body, /<html lang="en">/);
    assert.match(body, /<meta name="viewport"/);
    assert.match(body, /<script type="module" src="\/dashboard\/dashboard\.js"><\/script>/);
    assert.match(body, /<noscript>[\s\S]*href="\/status"/, 'without JavaScript the page points at the JSON routes');
  });

  it('serves every asset the page references, with its type and the same headers', async () => {
    const refs = [...html.matchAll(/(?:src|href)="(\/[^"]*)"/g)].map((m) => m[1] as string);
    // The module's static imports, and theirs, are assets too.
    const imported = new Set<string>();
    for (const text of modules.values()) {
      for (const m of text.matchAll(/^import [^;]+ from '\.\/([\w-]+\.js)';$/gm)) imported.add(`/dashboard/${m[1]}`);
    }
    const local = [...new Set([...refs.filter((r) => r.startsWith('/dashboard/')), ...imported])].sort();
    assert.deepEqual(local, [
      '/dashboard/admin.js',
      '/dashboard/api.js',
      '/dashboard/dashboard.css',
      '/dashboard/dashboard.js',
      '/dashboard/dom.js',
      '/dashboard/icon.svg',
      '/dashboard/retry.js',
      '/dashboard/views.js',
    ]);
    const types: Record<string, RegExp> = {
      '.js': /^text\/javascript/,
      '.css': /^text\/css/,
      '.svg': /^image\/svg\+xml/,
    };
    for (const path of local) {
      const res = await app.request(path);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', types[path.slice(path.lastIndexOf('.'))] as RegExp, path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path);
      assert.ok((await res.text()).length > 100, `${path} has content`);
    }
    assert.deepEqual([...DASHBOARD_ROUTES].sort(), ['/', ...local].sort());
  });

  it('revalidates with an ETag (304 when unchanged), answers HEAD, and 405 for other methods', async () => {
    const first = await app.request('/dashboard/dashboard.js');
    const etag = first.headers.get('etag');
    assert.ok(etag, 'an ETag');
    assert.equal(first.headers.get('cache-control'), 'no-cache');
    const again = await app.request('/dashboard/dashboard.js', { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
    const changed = await app.request('/dashboard/dashboard.js', { headers: { 'if-none-match': '"other"' } });
    assert.equal(changed.status, 200);

    const head = await app.request('/', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');

    for (const method of ['POST', 'PUT', 'DELETE']) {
      const res = await app.request('/', { method });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get('allow'), 'GET, HEAD');
      assert.deepEqual(await res.json(), { error: 'method not allowed', method, path: '/', allow: ['GET', 'HEAD'] });
    }
    assert.equal((await app.request('/dashboard/nope.js')).status, 404);
  });

  it('every script is a module that parses (node --check)', async () => {
    for (const [path, text] of modules) {
      const file = join(dir, path.replace('/dashboard/', '').replace(/\.js$/, '.mjs'));
      writeFileSync(file, text);
      const { stderr } = await run(process.execPath, ['--check', file]);
      assert.equal(stderr, '', path);
    }
    assert.match(js, /^\s*start\(\);\s*$/m);
  });

  it('the script writes data only as text: no HTML sinks, no eval', () => {
    for (const sink of [
      /\.innerHTML\b/,
      /\.outerHTML\b/,
      /insertAdjacentHTML/,
      /document\.write/,
      /\beval\(/,
      /new Function\b/,
      /createContextualFragment/,
    ]) {
      for (const [path, text] of modules) assert.doesNotMatch(text, sink, `${path} must not use ${sink}`);
    }
  });

  it('the page needs nothing the CSP forbids: no inline script, handler or style', () => {
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'inline <script>');
    assert.doesNotMatch(html, /\son[a-z]+=/i, 'inline event handler');
    assert.doesNotMatch(html, /\sstyle=/i, 'style attribute');
    assert.doesNotMatch(html, /<style[\s>]/i, '<style> element');
    for (const text of modules.values()) {
      assert.doesNotMatch(text, /setAttribute\(\s*['"]style['"]/, 'style attribute set from script');
    }
    assert.doesNotMatch(css, /url\(\s*['"]?(?:https?:|data:)/, 'a resource from elsewhere');
  });

  it('every element id and template field the script uses exists in the page', () => {
    const ids = new Set([...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]));
    const all = [...modules.values()].join('\n');
    const used = new Set([...all.matchAll(/\$\('([^']+)'\)/g)].map((m) => m[1]));
    assert.ok(used.size > 10, `ids used by the scripts: ${[...used].join(', ')}`);
    for (const id of used) assert.ok(ids.has(id), `#${id} is used by a script but missing from index.html`);

    const fields = new Set([...html.matchAll(/data-field="([^"]+)"/g)].map((m) => m[1]));
    const usedFields = new Set(
      [...js.matchAll(/this\.f(?:\.([A-Za-z]\w*)|\['([^']+)'\])/g)].map((m) => (m[1] ?? m[2]) as string),
    );
    assert.ok(usedFields.size > 10);
    for (const field of usedFields) assert.ok(fields.has(field), `data-field="${field}" missing from the template`);
  });

  it('has a legend for every outcome colour, and a style for each', () => {
    for (const kind of ['ok', 'partial', 'failed', 'skipped', 'running']) {
      assert.match(html, new RegExp(`<span class="cell ${kind}" aria-hidden="true"></span>${kind}</li>`), kind);
      assert.match(css, new RegExp(`\\.cell\\.${kind} \\{`), `CSS for .cell.${kind}`);
    }
    assert.match(css, /@media \(prefers-color-scheme: dark\)/);
  });
});
