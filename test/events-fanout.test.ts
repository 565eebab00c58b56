/**
 * Events fan out across instances over Redis pub/sub (issue 5): two runtimes
 * share one Redis; an SSE client on A's `/events` gets B's events as soon as
 * B's event recorder appended them, long before A's next poll (pollMs is set
 * to 30 s here). Real redis-server, real sockets, real time.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { defineLoop } from '../src/config/define-loop.ts';
import { createRuntime, type Runtime } from '../src/runtime/runtime.ts';
import { RedisStore } from '../src/storage/redis/redis-store.ts';
import { HttpClient, waitFor } from './http-support.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';

const POLL_MS = 30_000;

describe('events fan-out over Redis pub/sub', () => {
  let redis: TestRedis | undefined;
  const runtimes: Runtime[] = [];
  const stores: RedisStore[] = [];
  after(async () => {
    for (const runtime of runtimes) await runtime.stop({ graceMs: 2_000 });
    for (const store of stores) await store.close();
    await redis?.stop();
  });

  it("A's /events stream shows B's events within a fraction of its poll interval", async () => {
    redis = await startRedis();
    const prefix = `autoloop-test:${randomBytes(6).toString('hex')}:`;
    const open = async () => {
      const store = await RedisStore.open((redis as TestRedis).url, { prefix });
      stores.push(store);
      return store;
    };
    const loop = (name: string) =>
      defineLoop({ name, trigger: { manual: true }, observe: () => ['x', 'y'], act: () => 'done' });
    const a = createRuntime({
      loops: [loop('on-a')],
      store: await open(),
      http: { host: '127.0.0.1', port: 0, events: { pollMs: POLL_MS, heartbeatMs: 60_000 } },
    });
    const b = createRuntime({ loops: [loop('on-b')], store: await open() });
    runtimes.push(a, b);
    await a.start();
    await b.start();

    const client = new HttpClient(a.url as string);
    // After the events both runtimes wrote at start, so only what comes next is counted.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const latest = await a.store.events.latest({ limit: 1 });
    const stream = await client.sse(`/events?after=${latest.at(-1)?.seq ?? 0}`);
    try {
      assert.equal(stream.status, 200);
      await waitFor('the stream to open', () => stream.comments.includes('connected'), 3_000);
      const sentAt = Date.now();
      const record = await b.run('on-b');
      assert.equal(record.outcome.kind, 'ok');
      await waitFor(
        "B's cycle.finished on A's stream",
        () => stream.events.some((e) => e.type === 'cycle.finished' && e.loop === 'on-b'),
        POLL_MS / 3,
      );
      const latencyMs = Date.now() - sentAt;
      const types = stream.events.filter((e) => e.loop === 'on-b').map((e) => e.type);
      assert.deepEqual(types, ['cycle.started', 'item.succeeded', 'item.succeeded', 'cycle.finished']);
      // A's own events reach the same stream the same way.
      await a.run('on-a');
      await waitFor(
        "A's own cycle on its stream",
        () => stream.events.some((e) => e.loop === 'on-a' && e.type === 'cycle.finished'),
        POLL_MS / 3,
      );
      assert.ok(latencyMs < POLL_MS / 3);
      console.log(JSON.stringify({ fanoutLatencyMs: latencyMs, pollMs: POLL_MS }));
    } finally {
      stream.close();
    }
  });
});
