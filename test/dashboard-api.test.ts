/**
 * The routes the dashboard's cycle page, failed-items view and charts read,
 * and the retry it sends, over a real runtime (SQLite file store, HTTP on
 * 127.0.0.1): every answer comes from the store, a retried item runs again
 * with its stored payload and succeeds, and bad input is a 400 naming the
 * query parameter or body field. The admin token never appears in a reply.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defineLoop } from '../src/config/define-loop.ts';
import type { CycleRecord, ItemResult } from '../src/core/cycle-record.ts';
import type { HistoryPoint } from '../src/http/cycle-history.ts';
import type { FailedItem } from '../src/http/failed-items.ts';
import { createRuntime, type Runtime } from '../src/runtime/runtime.ts';
import { HttpClient, Transcript, testToken, waitFor } from './http-support.ts';

const TOKEN = testToken();
const transcript = new Transcript();

describe('dashboard API over a runtime', () => {
  let dir: string;
  let runtime: Runtime;
  let client: HttpClient;
  let failing = true;
  let plans = 0;
  let first: CycleRecord;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'autoloop-dashboard-api-'));
    const flaky = defineLoop({
      name: 'flaky',
      trigger: { manual: true },
      // Only the first cycle plans work; later (manual) cycles run what is queued again.
      plan: () =>
        ++plans === 1
          ? ['a', 'b', 'c'].map((key) => ({ key, payload: { symbol: `${key.toUpperCase()}/USD`, n: 1 } }))
          : [],
      act: async (item: { key: string; payload: { symbol: string } }) => {
        if (item.key === 'b' && failing) throw new Error(`exchange timeout for ${item.payload.symbol}`);
        return { price: 42, symbol: item.payload.symbol };
      },
      policies: { retry: { attempts: 2, backoff: '1ms', maxBackoff: '1ms' }, concurrency: 3 },
    });
    const quiet = defineLoop({ name: 'quiet', trigger: { manual: true }, act: () => null });
    runtime = createRuntime({
      loops: [flaky, quiet],
      store: `sqlite://${join(dir, 'state.db')}`,
      http: { host: '127.0.0.1', port: 0, token: TOKEN },
      shutdownGraceMs: 2000,
    });
    await runtime.start();
    client = new HttpClient(runtime.url as string, transcript);
    first = await runtime.run('flaky');
  });

  after(async () => {
    await runtime?.stop();
    rmSync(dir, { recursive: true, force: true });
    transcript.assertNoSecret(TOKEN);
  });

  it('GET /cycles/:id: the record and each item with payload, output or error, attempts and duration', async () => {
    assert.equal(first.outcome.kind, 'partial');
    const res = await client.get(`/cycles/${encodeURIComponent(first.id)}`);
    assert.equal(res.status, 200);
    const { cycle, items } = res.json() as { cycle: CycleRecord; items: ItemResult[] };
    assert.equal(cycle.id, first.id);
    assert.equal(cycle.owner, first.owner);
    const byKey = new Map(items.map((i) => [i.key, i]));
    assert.deepEqual([...byKey.keys()].sort(), ['a', 'b', 'c']);
    const b = byKey.get('b') as ItemResult;
    assert.equal(b.status, 'failed');
    assert.equal(b.attempts, 2);
    assert.deepEqual(b.payload, { symbol: 'B/USD', n: 1 });
    assert.match(String(b.error?.message), /exchange timeout for B\/USD/);
    const a = byKey.get('a') as ItemResult;
    assert.deepEqual(a.output, { price: 42, symbol: 'A/USD' });
    assert.equal(typeof a.durationMs, 'number');

    const missing = await client.get('/cycles/no-such-cycle');
    assert.equal(missing.status, 404);
    assert.match(String(missing.json().error), /no cycle "no-such-cycle"/);
  });

  it('GET /items/failed lists failed items with the instance that ran them; filters by loop', async () => {
    const all = await client.get('/items/failed');
    assert.equal(all.status, 200);
    const failed = all.json().items as Array<ItemResult & { owner: string }>;
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.key, 'b');
    assert.equal(failed[0]?.cycleId, first.id);
    assert.equal(failed[0]?.owner, first.owner);
    assert.deepEqual((await client.get('/items/failed?loop=quiet')).json().items, []);

    const unknown = await client.get('/items/failed?loop=nope');
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.json().known, ['flaky', 'quiet']);
    const bad = await client.get('/items/failed?limit=0');
    assert.equal(bad.status, 400);
    assert.match(
      String(bad.json().error),
      /^GET \/items\/failed: query limit: expected an integer from 1 to 200, got 0/,
    );
  });

  it('GET /cycles filters by loop and outcome; a bad outcome is a 400 naming it', async () => {
    await runtime.run('quiet');
    const partial = (await client.get('/cycles?outcome=partial')).json().cycles as CycleRecord[];
    assert.deepEqual(
      partial.map((c) => c.id),
      [first.id],
    );
    const quiet = (await client.get('/cycles?loop=quiet')).json().cycles as CycleRecord[];
    assert.ok(quiet.length >= 1 && quiet.every((c) => c.loop === 'quiet'));
    const bad = await client.get('/cycles?outcome=broken');
    assert.equal(bad.status, 400);
    assert.equal(bad.json().field, 'outcome');
    assert.match(
      String(bad.json().error),
      /query outcome: expected one of ok, partial, failed, skipped, running, got "broken"/,
    );
  });

  it('POST /loops/:name/retry needs the token and names bad body fields', async () => {
    const body = JSON.stringify({ cycleId: first.id, key: 'b' });
    assert.equal((await client.post('/loops/flaky/retry', undefined, body)).status, 401);
    const noKey = await client.post('/loops/flaky/retry', TOKEN, JSON.stringify({ cycleId: first.id }));
    assert.equal(noKey.status, 400);
    assert.equal(noKey.json().field, 'body.key');
    const extra = await client.post('/loops/flaky/retry', TOKEN, JSON.stringify({ cycleId: first.id, key: 'b', x: 1 }));
    assert.equal(extra.status, 400);
    assert.equal(extra.json().field, 'body.x');
    const notFailed = await client.post('/loops/flaky/retry', TOKEN, JSON.stringify({ cycleId: first.id, key: 'a' }));
    assert.equal(notFailed.status, 409);
    assert.match(String(notFailed.json().error), /did not fail \(it succeeded\)/);
    const noItem = await client.post('/loops/flaky/retry', TOKEN, JSON.stringify({ cycleId: first.id, key: 'zz' }));
    assert.equal(noItem.status, 404);
    const otherLoop = await client.post('/loops/quiet/retry', TOKEN, body);
    assert.equal(otherLoop.status, 404);
  });

  it('a retried item runs again with its stored payload and succeeds in a new cycle', async () => {
    failing = false;
    const res = await client.post('/loops/flaky/retry', TOKEN, JSON.stringify({ cycleId: first.id, key: 'b' }));
    assert.equal(res.status, 202);
    assert.equal(res.json().key, 'b');
    let retried: ItemResult | undefined;
    await waitFor(
      'the retried item to succeed',
      async () => {
        for (const record of await runtime.store.cycles.list('flaky', { limit: 10 })) {
          if (record.id === first.id) continue;
          retried = (await runtime.store.cycles.items(record.id)).find((i) => i.key === 'b');
          if (retried) return true;
        }
        return false;
      },
      15_000,
    );
    assert.equal(retried?.status, 'succeeded');
    assert.deepEqual(retried?.output, { price: 42, symbol: 'B/USD' }, 'act got the stored payload');
    assert.deepEqual(retried?.payload, { symbol: 'B/USD', n: 1 });

    const listed = (await client.get('/items/failed?loop=flaky')).json().items as FailedItem[];
    assert.deepEqual(
      listed.map((i) => [i.key, i.cycleId, i.retry?.status, i.retry?.cycleId]),
      [['b', first.id, 'succeeded', retried?.cycleId]],
      'the failure stays listed, with the outcome of its retry',
    );
  });

  it('GET /loops/:name/history: one point per finished cycle from the store, oldest first', async () => {
    const res = await client.get('/loops/flaky/history');
    assert.equal(res.status, 200);
    const points = res.json().points as HistoryPoint[];
    assert.ok(points.length >= 2, `points: ${JSON.stringify(points)}`);
    const [oldest] = points as [HistoryPoint];
    assert.equal(oldest.cycleId, first.id);
    assert.equal(oldest.items, 3);
    assert.ok(oldest.peakInFlight >= 1 && oldest.peakInFlight <= 3);
    assert.equal(typeof oldest.p95Ms, 'number');
    assert.ok(points.every((p, i) => i === 0 || p.at >= (points[i - 1]?.at ?? 0)));
    assert.equal((await client.get('/loops/nope/history')).status, 404);
  });
});
