import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { describe, it } from 'node:test';
import type { HealthReport } from '../runtime/health.ts';
import { createFakeHttpSource, type FakeHttpSourceOverrides } from './fake-http-source.ts';
import { createHttpServer, HttpListenError } from './http-server.ts';
import { createHttpApp, type HttpSource } from './routes.ts';

function report(healthy: boolean): HealthReport {
  return {
    healthy,
    status: healthy ? 'healthy' : 'unhealthy',
    checkedAt: '2026-01-01T00:00:00.000Z',
    components: { store: healthy ? { healthy: true } : { healthy: false, detail: 'store unreachable' } },
  };
}

const PROM = 'text/plain; version=0.0.4; charset=utf-8';

function source(overrides: FakeHttpSourceOverrides = {}): HttpSource {
  return createFakeHttpSource({
    health: async () => report(true),
    ready: async () => report(true),
    live: () => report(true),
    metrics: async () => ({ contentType: PROM, body: 'autoloop_cycles_total{loop="a",outcome="ok"} 1\n' }),
    ...overrides,
  });
}

async function jsonOf(res: Response): Promise<Record<string, unknown>> {
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  return (await res.json()) as Record<string, unknown>;
}

const HEALTH_ROUTES = [
  ['/health', 'health'],
  ['/health/ready', 'ready'],
  ['/health/live', 'live'],
] as const;

describe('createHttpApp', () => {
  for (const [path, method] of HEALTH_ROUTES) {
    it(`GET ${path}: 200 with the report when healthy`, async () => {
      const res = await createHttpApp(source()).request(path);
      assert.equal(res.status, 200);
      assert.deepEqual(await jsonOf(res), report(true));
    });

    it(`GET ${path}: 503 with the report when unhealthy`, async () => {
      const unhealthy = method === 'live' ? () => report(false) : async () => report(false);
      const res = await createHttpApp(source({ [method]: unhealthy })).request(path);
      assert.equal(res.status, 503);
      assert.deepEqual(await jsonOf(res), report(false));
    });

    it(`GET ${path}: 503 JSON when the source throws`, async () => {
      const throwing =
        method === 'live'
          ? () => {
              throw new Error('event loop wedged');
            }
          : async () => {
              throw new Error('store timed out');
            };
      const res = await createHttpApp(source({ [method]: throwing })).request(path);
      assert.equal(res.status, 503);
      const body = await jsonOf(res);
      assert.equal(body.status, 'unhealthy');
      assert.equal(body.error, method === 'live' ? 'event loop wedged' : 'store timed out');
    });
  }

  it('GET /health: 503 when the report cannot be serialised', async () => {
    const bad = { ...report(true), components: { x: { healthy: true, big: 1n } } };
    const res = await createHttpApp(source({ health: async () => bad })).request('/health');
    assert.equal(res.status, 503);
    assert.match(String((await jsonOf(res)).error), /BigInt/);
  });

  it('GET /health: 503 when the report is not explicitly healthy', async () => {
    const odd = { ...report(true), healthy: 'yes' } as unknown as HealthReport;
    const res = await createHttpApp(source({ health: async () => odd })).request('/health');
    assert.equal(res.status, 503);
  });

  it('GET /metrics: the exposition text with its content type', async () => {
    const res = await createHttpApp(source()).request('/metrics');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), PROM);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(await res.text(), 'autoloop_cycles_total{loop="a",outcome="ok"} 1\n');
  });

  it('GET /metrics: 500 JSON when the source throws, no stack trace', async () => {
    const metrics = async () => {
      throw new Error('collector failed');
    };
    const res = await createHttpApp(source({ metrics })).request('/metrics');
    assert.equal(res.status, 500);
    const body = await jsonOf(res);
    assert.deepEqual(body, { error: 'collector failed', path: '/metrics' });
  });

  it('unknown path: 404 JSON naming the path', async () => {
    const res = await createHttpApp(source()).request('/nope?x=1');
    assert.equal(res.status, 404);
    assert.deepEqual(await jsonOf(res), { error: 'not found', path: '/nope' });
  });

  it('wrong method: 405 JSON with an allow header', async () => {
    const app = createHttpApp(source());
    for (const path of ['/health', '/health/live', '/health/ready', '/metrics']) {
      const res = await app.request(path, { method: 'POST' });
      assert.equal(res.status, 405, path);
      assert.equal(res.headers.get('allow'), 'GET, HEAD');
      const body = await jsonOf(res);
      assert.equal(body.error, 'method not allowed');
      assert.equal(body.method, 'POST');
    }
  });

  it('HEAD and a trailing slash are answered like GET', async () => {
    const app = createHttpApp(source({ ready: async () => report(false) }));
    assert.equal((await app.request('/health/ready', { method: 'HEAD' })).status, 503);
    assert.equal((await app.request('/health/ready/')).status, 503);
  });
});

/** Resolves with the status, or rejects with the socket error (e.g. ECONNREFUSED). */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('createHttpServer', () => {
  it('serves over a real socket on a free port, then closes it; stop is idempotent', async () => {
    const server = createHttpServer({ host: '127.0.0.1', port: 0, app: createHttpApp(source()) });
    const address = await server.start();
    assert.equal(address.host, '127.0.0.1');
    assert.ok(address.port > 0);
    assert.equal(address.url, `http://127.0.0.1:${address.port}`);
    assert.equal(await server.start(), address, 'a second start returns the same address');

    // fetch keeps its connection alive: stop must close it rather than wait for it.
    const res = await fetch(`${address.url}/health/live`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as HealthReport).status, 'healthy');

    await server.stop();
    await assert.rejects(get(`${address.url}/health/live`), { code: 'ECONNREFUSED' });
    await server.stop();
    await assert.rejects(server.start(), /stopped/);
  });

  it('stop closes a connection whose response is still streaming', async () => {
    // A response that never ends, like an SSE stream: close() alone would wait forever.
    const app = { fetch: () => new Response(new ReadableStream({ start: (c) => c.enqueue(new Uint8Array([104])) })) };
    const server = createHttpServer({ host: '127.0.0.1', port: 0, app });
    const { url } = await server.start();
    const res = await fetch(url);
    const reader = res.body!.getReader();
    assert.equal((await reader.read()).value?.[0], 104);
    await server.stop();
    await assert.rejects(reader.read());
  });

  it('rejects start with a clear message when the port is taken', async () => {
    const first = createHttpServer({ host: '127.0.0.1', port: 0, app: createHttpApp(source()) });
    const { port } = await first.start();
    try {
      const second = createHttpServer({ host: '127.0.0.1', port, app: createHttpApp(source()) });
      const error = await second.start().then(
        () => assert.fail('expected start to reject'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof HttpListenError);
      assert.equal(error.name, 'HttpListenError');
      assert.equal(error.code, 'EADDRINUSE');
      assert.equal(
        error.message,
        `http: cannot listen on 127.0.0.1:${port}: address already in use (set http.port or --port)`,
      );
      await second.stop();
    } finally {
      await first.stop();
    }
  });

  it('rejects start for an invalid port, and stop before start resolves', async () => {
    const server = createHttpServer({ host: '127.0.0.1', port: 70000, app: createHttpApp(source()) });
    await assert.rejects(server.start(), (e: unknown) => e instanceof HttpListenError && /70000/.test(e.message));
    await server.stop();
    await createHttpServer({ host: '127.0.0.1', port: 0, app: createHttpApp(source()) }).stop();
  });

  it('listens beyond loopback, with or without a token', async () => {
    for (const token of ['a-long-admin-token', '']) {
      const app = createHttpApp(createFakeHttpSource({ security: { token, bindHost: '0.0.0.0' } }));
      const server = createHttpServer({ host: '0.0.0.0', port: 0, app });
      const { port } = await server.start();
      try {
        assert.equal((await get(`http://127.0.0.1:${port}/health/live`)).status, 200, `token "${token}"`);
      } finally {
        await server.stop();
      }
    }
  });
});
