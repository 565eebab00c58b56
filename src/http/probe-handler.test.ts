/**
 * The probe routes' fast path over a real socket: what it answers is what
 * the app answers (status, body, headers), and everything else reaches the
 * app untouched (counted through the app's fetch).
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { HealthReport } from '../runtime/health.ts';
import { createFakeHttpSource } from './fake-http-source.ts';
import { createHttpServer, type HttpServer } from './http-server.ts';
import { createProbeHandler } from './probe-handler.ts';
import { createHttpApp, type HttpSource } from './routes.ts';

const TOKEN = 'a-long-probe-test-token';

function report(healthy: boolean): HealthReport {
  return {
    healthy,
    status: healthy ? 'healthy' : 'unhealthy',
    checkedAt: '2026-01-01T00:00:00.000Z',
    components: { store: { healthy } },
  };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on a fresh connection, with the headers given exactly (Host included). */
function send(
  url: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, {
      method: options.method ?? 'GET',
      headers: options.headers,
      agent: false,
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('createProbeHandler behind createHttpServer', () => {
  let healthy = true;
  let ready: () => Promise<HealthReport> = async () => report(healthy);
  let live: () => HealthReport = () => report(true);
  const source: HttpSource = createFakeHttpSource({
    health: async () => report(healthy),
    ready: () => ready(),
    live: () => live(),
    security: { token: TOKEN, allowedHosts: [], bindHost: '127.0.0.1' },
  });
  const app = createHttpApp(source);
  let appRequests = 0;
  let fast: HttpServer;
  let plain: HttpServer;
  let fastUrl = '';
  let plainUrl = '';

  before(async () => {
    fast = createHttpServer({
      host: '127.0.0.1',
      port: 0,
      app: {
        fetch: (request) => {
          appRequests += 1;
          return app.fetch(request);
        },
      },
      probes: createProbeHandler(source),
    });
    plain = createHttpServer({ host: '127.0.0.1', port: 0, app });
    fastUrl = (await fast.start()).url;
    plainUrl = (await plain.start()).url;
  });
  after(async () => {
    await Promise.all([fast.stop(), plain.stop()]);
  });

  const same = async (path: string, options: Parameters<typeof send>[2] = {}) => {
    const before = appRequests;
    const [viaProbe, viaApp] = await Promise.all([send(fastUrl, path, options), send(plainUrl, path, options)]);
    assert.equal(viaProbe.status, viaApp.status, path);
    assert.equal(viaProbe.body, viaApp.body, path);
    for (const header of ['content-type', 'cache-control', 'content-length'])
      assert.equal(viaProbe.headers[header], viaApp.headers[header], `${path}: ${header}`);
    return { viaProbe, appRequests: appRequests - before };
  };

  it('answers /health, /health/live and /health/ready (trailing slash, query) as the app does, without it', async () => {
    for (const path of ['/health', '/health/live', '/health/ready', '/health/', '/health/ready/?probe=1']) {
      const { viaProbe, appRequests: reached } = await same(path);
      assert.equal(viaProbe.status, 200, path);
      assert.equal(reached, 0, `${path} did not reach the app`);
    }
    healthy = false;
    try {
      const { viaProbe, appRequests: reached } = await same('/health/ready');
      assert.equal(viaProbe.status, 503);
      assert.equal(JSON.parse(viaProbe.body).status, 'unhealthy');
      assert.equal(reached, 0);
    } finally {
      healthy = true;
    }
  });

  it('a source that throws is a 503 with the error, the token redacted, as the app does', async () => {
    ready = async () => {
      throw new Error(`store refused ${TOKEN}`);
    };
    try {
      const { viaProbe, appRequests: reached } = await same('/health/ready');
      assert.equal(viaProbe.status, 503);
      assert.ok(!viaProbe.body.includes(TOKEN), viaProbe.body);
      assert.equal(JSON.parse(viaProbe.body).healthy, false);
      assert.equal(reached, 0);
    } finally {
      ready = async () => report(healthy);
    }
  });

  it('leaves every other request to the app: a refused Host, HEAD, other methods, a body, other routes', async () => {
    const cases: Array<[string, Parameters<typeof send>[2], number, number?]> = [
      ['/health', { headers: { host: 'evil.example' } }, 403],
      ['/health/live', { method: 'HEAD' }, 200],
      ['/health/live', { method: 'POST' }, 405],
      // A GET with a body: the app's adapter refuses it before the app (a fetch Request cannot carry one).
      ['/health/ready', { headers: { 'content-type': 'text/plain' }, body: 'x' }, 400, 0],
      ['/health/detailed', {}, 200],
      ['/health/store', {}, 200],
      ['/nowhere', {}, 404],
    ];
    for (const [path, options, status, reaches = 1] of cases) {
      const { viaProbe, appRequests: reached } = await same(path, options);
      assert.equal(viaProbe.status, status, `${options?.method ?? 'GET'} ${path}`);
      assert.equal(reached, reaches, `${options?.method ?? 'GET'} ${path} reached the app`);
    }
  });

  it('answers a new live report when the source serves one, the same answer for the same one, and a 503 when it throws', async () => {
    const shared = report(true);
    live = () => shared;
    try {
      const first = await same('/health/live');
      const again = await same('/health/live');
      assert.equal(again.viaProbe.body, first.viaProbe.body);
      const changed = { ...report(false), checkedAt: '2026-01-02T00:00:00.000Z' };
      live = () => changed;
      const next = await same('/health/live');
      assert.equal(next.viaProbe.status, 503);
      assert.equal(JSON.parse(next.viaProbe.body).checkedAt, '2026-01-02T00:00:00.000Z');
      live = () => {
        throw new Error(`process view failed ${TOKEN}`);
      };
      const failed = await same('/health/live');
      assert.equal(failed.viaProbe.status, 503);
      assert.ok(!failed.viaProbe.body.includes(TOKEN), failed.viaProbe.body);
      assert.equal(failed.appRequests, 0);
    } finally {
      live = () => report(true);
    }
  });

  it('judges each Host value on its own, whichever came just before', async () => {
    for (const [host, status] of [
      ['localhost', 200],
      ['evil.example', 403],
      ['evil.example', 403],
      ['127.0.0.1:8080', 200],
      ['LOCALHOST', 200],
      ['evil.example:80', 403],
    ] as const) {
      const { viaProbe } = await same('/health/live', { headers: { host } });
      assert.equal(viaProbe.status, status, host);
    }
  });
});
