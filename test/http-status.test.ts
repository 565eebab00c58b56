/**
 * The read routes over real sockets: /status, /tasks, /loops/:name/cycles,
 * /metrics; 405 for other methods; 400 naming the param for bad input, and
 * never a 500 for anything a client sends.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createFakeHttpSource, type FakeHttpSource, fakeSnapshot, fakeTasks } from '../src/http/fake-http-source.ts';
import { HTTP_ROUTES } from '../src/http/routes.ts';
import { type HttpClient, type RequestInit, serve, testToken } from './http-support.ts';

const TOKEN = testToken();

describe('read routes', () => {
  let source: FakeHttpSource;
  let client: HttpClient;
  let stop: () => Promise<void>;
  const limits: number[] = [];

  before(async () => {
    const base = createFakeHttpSource();
    source = createFakeHttpSource({
      loops: ['prices', 'disk'],
      security: { token: TOKEN },
      snapshot: async () => ({ ...fakeSnapshot(['prices', 'disk']), store: 'redis://admin:p4ss-w0rd-xyz@db:6379' }),
      cycles: (loop, limit) => {
        limits.push(limit);
        return base.cycles('prices', limit).then((records) => records.map((r) => ({ ...r, loop })));
      },
    });
    const server = await serve(source);
    client = server.client;
    stop = server.stop;
  });

  after(async () => {
    await stop();
    client.transcript.assertNoSecret(TOKEN);
    client.transcript.assertNoSecret('p4ss-w0rd-xyz');
  });

  it('GET /status: the snapshot, store URL without its password', async () => {
    const res = await client.get('/status');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const body = res.json() as ReturnType<typeof JSON.parse>;
    assert.equal(body.store, 'redis://admin:***@db:6379');
    assert.deepEqual(
      body.loops.map((l: { name: string }) => l.name),
      ['prices', 'disk'],
    );
    assert.equal(body.loops[0].lastCycle.id, 'prices#1');
  });

  it('GET /tasks: the queue view', async () => {
    const res = await client.get('/tasks');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), fakeTasks());
  });

  it('GET /loops/:name/cycles: default limit 50, ?limit up to 1000', async () => {
    limits.length = 0;
    const res = await client.get('/loops/disk/cycles');
    assert.equal(res.status, 200);
    const records = res.json() as unknown as Array<{ loop: string }>;
    assert.equal(records.length, 3);
    assert.ok(records.every((r) => r.loop === 'disk'));
    assert.equal((await client.get('/loops/disk/cycles?limit=1000')).status, 200);
    assert.equal((await client.get('/loops/disk/cycles?limit=1')).status, 200);
    assert.deepEqual(limits, [50, 1000, 1]);
  });

  it('GET /loops/:name/cycles: 400 naming limit for a bad one', async () => {
    for (const bad of ['0', '1001', 'abc', '', '1.5', '-1', '99999999999', '1e3']) {
      const res = await client.get(`/loops/prices/cycles?limit=${encodeURIComponent(bad)}`);
      assert.equal(res.status, 400, `limit=${bad}`);
      const body = res.json();
      assert.equal(body.field, 'limit');
      assert.match(
        String(body.error),
        /^GET \/loops\/prices\/cycles: query limit: expected an integer from 1 to 1000, got /,
      );
    }
  });

  it('GET /loops/:name/cycles: 404 naming the known loops', async () => {
    const res = await client.get('/loops/nope/cycles');
    assert.equal(res.status, 404);
    assert.deepEqual(res.json(), {
      error: 'unknown loop "nope"; loops in this config: prices, disk',
      known: ['prices', 'disk'],
    });
  });

  it('GET /metrics: the Prometheus text', async () => {
    const res = await client.get('/metrics');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0.0.4/);
    assert.match(res.body, /^autoloop_cycles_total\{loop="prices",outcome="ok"\} 1$/m);
  });

  it('HEAD answers like GET without a body', async () => {
    const res = await client.request('/status', { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.body, '');
  });

  it('wrong method: 405 with allow, on every route', async () => {
    for (const { path, methods } of HTTP_ROUTES) {
      const concrete = path.replace(':name', 'prices').replace(':component', 'store');
      const method = methods[0] === 'GET' ? 'DELETE' : 'GET';
      const res = await client.request(concrete, { method });
      assert.equal(res.status, 405, `${method} ${concrete}`);
      assert.equal(res.headers.allow, methods[0] === 'GET' ? 'GET, HEAD' : 'POST');
      assert.equal(res.json().error, 'method not allowed');
    }
  });

  it('unknown path: 404 JSON', async () => {
    const res = await client.get('/nope?x=1');
    assert.equal(res.status, 404);
    assert.deepEqual(res.json(), { error: 'not found', path: '/nope' });
  });

  it('a source that fails: 503 naming what failed, not 500', async () => {
    const failing = createFakeHttpSource({
      tasks: async () => {
        throw new Error('database is locked');
      },
    });
    const server = await serve(failing);
    try {
      const res = await server.client.get('/tasks');
      assert.equal(res.status, 503);
      assert.equal(res.json().error, 'tasks: the runtime could not answer: database is locked');
    } finally {
      await server.stop();
    }
  });

  it('never a 500 for odd input', async () => {
    const paths = [
      '/loops/%ZZ/cycles',
      '/loops/%E0%A4%A/cycles',
      '/health/%00',
      '/health/%ZZ',
      `/loops/${'x'.repeat(4000)}/cycles`,
      '/loops//cycles',
      '/events?after=-1',
      '/events?after=abc',
      '/loops/prices/cycles?limit=1&limit=abc',
      '/status?%ZZ=1',
      '/..%2f..%2fetc%2fpasswd',
      '/loops/prices/run',
      '/shutdown',
    ];
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'last-event-id': 'x' };
    const bodies: RequestInit[] = [{}, { body: '{"a":' }, { body: '[1,', chunked: true }];
    for (const path of paths) {
      for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
        for (const variant of method === 'GET' ? [{}] : bodies) {
          const res = await client.request(path, { method, headers, ...variant });
          const what = `${method} ${path.slice(0, 60)} ${JSON.stringify(variant)}`;
          assert.ok(res.status < 500, `${what}: ${res.status} ${res.body.slice(0, 200)}`);
        }
      }
    }
  });
});
