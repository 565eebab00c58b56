/**
 * The health routes over real sockets: /health, /health/live, /health/ready,
 * /health/detailed (seed 002's body) and one path per named component.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  createFakeHttpSource,
  FAKE_NOW,
  type FakeHttpSource,
  fakeHealthReport,
  fakeSnapshot,
} from '../src/http/fake-http-source.ts';
import type { HealthReport } from '../src/runtime/health.ts';
import { type HttpClient, serve, Transcript, testToken } from './http-support.ts';

const TOKEN = testToken();
const STORE_PASSWORD = 'hunter2-store-password';
const transcript = new Transcript();

/** A report where loop:prices is stale, as the runtime reports it. */
function staleReport(): HealthReport {
  const report = fakeHealthReport(false);
  report.components.store = { healthy: true, detail: 'memory://' };
  report.components['loop:prices'] = {
    healthy: false,
    detail: 'stale: last successful cycle for 45s (allowed 25s)',
    schedule: 'every 10s',
  };
  return report;
}

async function withServer(source: FakeHttpSource, run: (client: HttpClient) => Promise<void>): Promise<void> {
  const server = await serve(source);
  const client = server.client;
  try {
    await run(client);
  } finally {
    transcript.entries.push(...client.transcript.entries);
    await server.stop();
  }
}

describe('health routes', () => {
  let healthy: HealthReport;
  before(() => {
    healthy = fakeHealthReport(true);
  });

  after(() => transcript.assertNoSecret(TOKEN));
  after(() => transcript.assertNoSecret(STORE_PASSWORD));

  it('/health, /health/live, /health/ready: 200 with the report when healthy', async () => {
    const source = createFakeHttpSource({ security: { token: TOKEN } });
    await withServer(source, async (client) => {
      for (const path of ['/health', '/health/live', '/health/ready']) {
        const res = await client.get(path);
        assert.equal(res.status, 200, path);
        assert.equal(res.headers['cache-control'], 'no-store');
        assert.deepEqual(res.json(), healthy);
      }
    });
  });

  it('503 on /health and on /health/loop:prices when the loop is stale; other components stay 200', async () => {
    const source = createFakeHttpSource({ security: { token: TOKEN }, health: async () => staleReport() });
    await withServer(source, async (client) => {
      const all = await client.get('/health');
      assert.equal(all.status, 503);
      assert.equal(all.json().status, 'unhealthy');

      const loop = await client.get('/health/loop:prices');
      assert.equal(loop.status, 503);
      const body = loop.json();
      assert.equal(body.component, 'loop:prices');
      assert.equal(body.status, 'unhealthy');
      assert.equal(body.healthy, false);
      assert.match(String(body.detail), /^stale: /);

      assert.equal((await client.get('/health/store')).status, 200);
      const encoded = await client.get('/health/breaker%3Allm_service');
      assert.equal(encoded.status, 200);
      assert.equal(encoded.json().component, 'breaker:llm_service');
      assert.equal(encoded.json().detail, 'closed');
    });
  });

  it('/health/:component: 404 for an unknown one, listing the known', async () => {
    const source = createFakeHttpSource({ security: { token: TOKEN } });
    await withServer(source, async (client) => {
      const res = await client.get('/health/loop:nope');
      assert.equal(res.status, 404);
      const body = res.json();
      assert.deepEqual(body.known, ['breaker:llm_service', 'loop:prices', 'runtime', 'store']);
      assert.match(String(body.error), /unknown health component "loop:nope"; known: breaker:llm_service, /);
      // Names of Object.prototype are not components either.
      assert.equal((await client.get('/health/constructor')).status, 404);
    });
  });

  it('/health/:component: 503 when the source throws', async () => {
    const health = async (): Promise<HealthReport> => {
      throw new Error('store timed out');
    };
    await withServer(createFakeHttpSource({ health }), async (client) => {
      const res = await client.get('/health/store');
      assert.equal(res.status, 503);
      assert.deepEqual(res.json(), { healthy: false, status: 'unhealthy', error: 'store timed out' });
    });
  });

  it('/health/detailed: seed 002 body from the snapshot and the health report', async () => {
    const snapshot = { ...fakeSnapshot(), store: `redis://:${STORE_PASSWORD}@db:6379/0` };
    const source = createFakeHttpSource({ security: { token: TOKEN }, snapshot: async () => snapshot });
    await withServer(source, async (client) => {
      const res = await client.get('/health/detailed');
      assert.equal(res.status, 200);
      const body = res.json() as ReturnType<typeof JSON.parse>;
      assert.equal(body.status, 'healthy');
      assert.equal(body.instance, 'test-host:1:abcd1234');
      assert.equal(body.uptimeSeconds, 3600);
      assert.equal(body.activeLeases, 3);
      assert.deepEqual(body.store, { url: 'redis://:***@db:6379/0', connected: true, detail: 'memory://' });
      assert.deepEqual(body.circuitBreakers, { llm_service: { state: 'closed', value: 0, p95LatencyMs: 120 } });
      const [loop] = body.loops;
      assert.equal(loop.name, 'prices');
      assert.equal(loop.healthy, true);
      assert.deepEqual(loop.lastCycle, {
        id: 'prices#1',
        trigger: 'interval',
        outcome: 'partial',
        startedAt: new Date(FAKE_NOW - 10_000).toISOString(),
        finishedAt: new Date(FAKE_NOW - 8_500).toISOString(),
        durationSeconds: 1.5,
        items: { planned: 20, succeeded: 19, failed: 1, skipped: 0 },
      });
      assert.deepEqual(loop.adaptive, { limit: 8, min: 2, max: 16, enabled: true, p95LatencyMs: 120 });
      assert.deepEqual(loop.backpressure, { state: 'normal', cooldowns: 0 });
      assert.equal(loop.itemsInFlight, 0);
      assert.deepEqual(Object.keys(body.components).sort(), ['breaker:llm_service', 'loop:prices', 'runtime', 'store']);
    });
  });

  it('/health/detailed: 503 when a loop is stale, and when the snapshot fails', async () => {
    const stale = createFakeHttpSource({ health: async () => staleReport() });
    await withServer(stale, async (client) => {
      const res = await client.get('/health/detailed');
      assert.equal(res.status, 503);
      const body = res.json() as ReturnType<typeof JSON.parse>;
      assert.equal(body.loops[0].healthy, false);
      assert.match(body.loops[0].detail, /^stale/);
    });
    const failing = createFakeHttpSource({
      snapshot: async () => {
        throw new Error(`cannot reach redis://:${STORE_PASSWORD}@db:6379`);
      },
    });
    await withServer(failing, async (client) => {
      const res = await client.get('/health/detailed');
      assert.equal(res.status, 503);
      assert.equal(res.json().error, 'cannot reach redis://:***@db:6379');
    });
  });

  it('a loop that never ran has a null last cycle in /health/detailed', async () => {
    const snapshot = fakeSnapshot();
    const [first] = snapshot.loops;
    if (first) first.lastCycle = null;
    await withServer(createFakeHttpSource({ snapshot: async () => snapshot }), async (client) => {
      const body = (await client.get('/health/detailed')).json() as ReturnType<typeof JSON.parse>;
      assert.equal(body.loops[0].lastCycle, null);
    });
  });
});
