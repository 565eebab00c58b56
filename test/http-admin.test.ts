/**
 * The admin routes and the guards on every route, over real sockets: bearer
 * token (403 when none is configured, 401 without or with a wrong one), the
 * Host allowlist (403 for a foreign Host), the 64 KiB body limit (413), and
 * malformed JSON (400 with the position). The admin token never appears in
 * any response.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createFakeHttpSource, type FakeHttpSource } from '../src/http/fake-http-source.ts';
import { HttpClient, serve, Transcript, testToken, waitFor } from './http-support.ts';

const TOKEN = testToken();
const transcript = new Transcript();
const ADMIN = ['/loops/prices/run', '/loops/prices/pause', '/loops/prices/resume', '/shutdown'];

describe('admin routes and guards', () => {
  let source: FakeHttpSource;
  let client: HttpClient;
  let stop: () => Promise<void>;

  before(async () => {
    source = createFakeHttpSource({
      security: { token: TOKEN, allowedHosts: ['autoloop.internal', 'ops.example.com:8443'], bindHost: '127.0.0.1' },
    });
    const server = await serve(source);
    client = new HttpClient(server.url, transcript);
    stop = server.stop;
  });

  after(async () => {
    await stop();
    transcript.assertNoSecret(TOKEN);
  });

  it('POST /loops/:name/run: runs a cycle and answers with its record', async () => {
    const res = await client.post('/loops/prices/run', TOKEN);
    assert.equal(res.status, 200);
    const record = res.json();
    assert.equal(record.loop, 'prices');
    assert.equal(record.trigger, 'manual');
    assert.deepEqual(record.outcome, { kind: 'ok' });
    assert.equal(source.calls.at(-1), 'run prices');
  });

  it('POST /loops/:name/pause and /resume', async () => {
    const paused = await client.post('/loops/prices/pause', TOKEN);
    assert.equal(paused.status, 200);
    assert.deepEqual(paused.json(), { loop: 'prices', paused: true });
    const resumed = await client.post('/loops/prices/resume', TOKEN, '{}');
    assert.equal(resumed.status, 200);
    assert.deepEqual(resumed.json(), { loop: 'prices', paused: false });
    assert.deepEqual(source.calls.slice(-2), ['pause prices', 'resume prices']);
  });

  it('admin on an unknown loop: 404 naming the known loops (after the token check)', async () => {
    const res = await client.post('/loops/nope/pause', TOKEN);
    assert.equal(res.status, 404);
    assert.deepEqual(res.json().known, ['prices']);
    assert.equal((await client.post('/loops/nope/pause')).status, 401, 'no loop names without the token');
  });

  it('401 with WWW-Authenticate without a token, with a wrong one, or another scheme', async () => {
    const before = source.calls.length;
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer' },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
      { authorization: `Bearer ${'x'.repeat(TOKEN.length)}` },
      { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` },
      { authorization: TOKEN },
    ];
    for (const path of ADMIN) {
      for (const headers of attempts) {
        const res = await client.request(path, { method: 'POST', headers });
        assert.equal(res.status, 401, `${path} ${JSON.stringify(headers)}`);
        assert.match(String(res.headers['www-authenticate']), /^Bearer realm="autoloop"/);
        assert.match(String(res.json().error), /^unauthorized: /);
      }
    }
    assert.equal(source.calls.length, before, 'nothing ran');
  });

  it('the scheme is case-insensitive', async () => {
    const res = await client.request('/loops/prices/pause', {
      method: 'POST',
      headers: { authorization: `bearer ${TOKEN}` },
    });
    assert.equal(res.status, 200);
  });

  it('403 on every admin route when no token is configured', async () => {
    const open = createFakeHttpSource({ security: { token: '' } });
    const server = await serve(open);
    const c = new HttpClient(server.url, transcript);
    try {
      for (const path of ADMIN) {
        const res = await c.post(path, 'anything-at-all');
        assert.equal(res.status, 403, path);
        assert.deepEqual(res.json(), { error: 'admin endpoints are disabled: set http.token' });
      }
      assert.deepEqual(open.calls, []);
    } finally {
      await server.stop();
    }
  });

  it('403 for a foreign Host on every kind of route; allowed names on any port pass', async () => {
    for (const host of ['evil.example', 'evil.example:80', 'localhost.evil.example', '127.0.0.1.nip.io', '[::2]:80']) {
      for (const [method, path] of [
        ['GET', '/health'],
        ['GET', '/events'],
        ['GET', '/'],
        ['GET', '/nope'],
        ['POST', '/loops/prices/run'],
      ] as const) {
        const res = await client.request(path, { method, headers: { host, authorization: `Bearer ${TOKEN}` } });
        assert.equal(res.status, 403, `${host} ${path}`);
        assert.match(String(res.json().error), /^forbidden: the Host header/);
        assert.ok(!res.body.includes(host), 'the Host value is not echoed');
      }
    }
    for (const host of [
      'localhost',
      'LOCALHOST:8080',
      '127.0.0.1:1',
      '[::1]:8080',
      'autoloop.internal',
      'ops.example.com:9',
    ]) {
      assert.equal((await client.get('/health/live', { host })).status, 200, host);
    }
    // A Host that is not even a host name: @hono/node-server answers 400 before the app sees it.
    assert.equal((await client.get('/health', { host: 'bad host' })).status, 400);
  });

  it('413 JSON for a body over 64 KiB, with Content-Length or chunked, on any route', async () => {
    const big = JSON.stringify({ x: 'a'.repeat(64 * 1024) });
    for (const chunked of [false, true]) {
      for (const path of ['/loops/prices/run', '/health', '/nope']) {
        const res = await client.request(path, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: big,
          chunked,
        });
        assert.equal(res.status, 413, `${path} chunked=${chunked}`);
        assert.deepEqual(res.json(), { error: 'request body too large: the limit is 65536 bytes (64 KiB)' });
      }
    }
    const exactly = `"${'a'.repeat(64 * 1024 - 2)}"`;
    const res = await client.post('/loops/prices/pause', TOKEN, exactly);
    assert.equal(res.status, 400, 'a body at the limit is read (and refused as not an object)');
  });

  it('400 for malformed JSON, with the position; chunked too', async () => {
    for (const chunked of [false, true]) {
      const res = await client.request('/loops/prices/run', {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: '{"reason": "x",}',
        chunked,
      });
      assert.equal(res.status, 400);
      assert.deepEqual(res.json(), {
        error:
          'POST /loops/prices/run: body: expected JSON, got invalid JSON at line 1, column 16 (position 15): ' +
          'unexpected "}"; expected a property name in double quotes; ' +
          'send no body or a JSON object with Content-Type: application/json',
        field: 'body',
        position: 15,
        line: 1,
        column: 16,
      });
    }
  });

  it('400 for a body that is not an object, or has a field the route does not take', async () => {
    const array = await client.post('/shutdown', TOKEN, '[]');
    assert.equal(array.status, 400);
    assert.equal(array.json().field, 'body');
    assert.match(String(array.json().error), /expected a JSON object \(or no body\), got an array/);
    const field = await client.post('/loops/prices/run', TOKEN, '{"force": true}');
    assert.equal(field.status, 400);
    assert.equal(field.json().field, 'body.force');
    assert.ok(!source.calls.includes('shutdown'));
  });

  it('run: 409 when the runtime refuses (e.g. while stopping)', async () => {
    const refusing = createFakeHttpSource({
      security: { token: TOKEN },
      admin: {
        run: async () => {
          throw new Error('run(prices): the runtime is stopping');
        },
      },
    });
    const server = await serve(refusing);
    try {
      const res = await new HttpClient(server.url, transcript).post('/loops/prices/run', TOKEN);
      assert.equal(res.status, 409);
      assert.deepEqual(res.json(), { error: 'run(prices): the runtime is stopping', loop: 'prices' });
    } finally {
      await server.stop();
    }
  });

  it('POST /shutdown: 202, then the graceful stop begins', async () => {
    const res = await client.post('/shutdown', TOKEN);
    assert.equal(res.status, 202);
    assert.deepEqual(res.json(), { status: 'shutting down' });
    await waitFor('shutdown to be called', () => source.calls.includes('shutdown'));
  });

  it('a token in an error message is scrubbed from the response', async () => {
    const leaky = createFakeHttpSource({
      security: { token: TOKEN },
      tasks: async () => {
        throw new Error(`auth failed with token ${TOKEN}`);
      },
    });
    const server = await serve(leaky);
    try {
      const res = await new HttpClient(server.url, transcript).get('/tasks');
      assert.equal(res.status, 503);
      assert.equal(res.json().error, 'tasks: the runtime could not answer: auth failed with token ***');
    } finally {
      await server.stop();
    }
  });
});
