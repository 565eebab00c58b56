/**
 * GET /events (SSE) over real sockets: history on connect, live events,
 * resume with Last-Event-ID (or ?after=) without gaps or duplicates,
 * heartbeats, and no polling or timer left once the client is gone.
 * Poll and heartbeat intervals are shortened through createHttpApp's options.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createFakeHttpSource, FAKE_NOW, type FakeHttpSource } from '../src/http/fake-http-source.ts';
import { countingClock, serve, sleep, Transcript, testToken, waitFor } from './http-support.ts';

const TOKEN = testToken();
const transcript = new Transcript();

async function withStream(
  source: FakeHttpSource,
  run: (server: Awaited<ReturnType<typeof serve>>, clock: ReturnType<typeof countingClock>) => Promise<void>,
  events: { pollMs?: number; heartbeatMs?: number; historyLimit?: number; batchLimit?: number } = {},
): Promise<void> {
  const clock = countingClock();
  const server = await serve(source, { clock, events: { pollMs: 10, heartbeatMs: 60_000, ...events } });
  try {
    await run(server, clock);
  } finally {
    transcript.entries.push(...server.client.transcript.entries);
    await server.stop();
  }
}

const seqs = (events: Array<{ seq: number }>) => events.map((e) => e.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('GET /events', () => {
  after(() => transcript.assertNoSecret(TOKEN));

  it('sends the recent history, then live events, each with id, event and data', async () => {
    const source = createFakeHttpSource({ security: { token: TOKEN } });
    source.emit('cycle.started', 'prices', { tick: 't1' });
    source.emit('cycle.finished', 'prices', { outcome: 'ok' });
    await withStream(source, async ({ client }) => {
      const stream = await client.sse('/events');
      assert.equal(stream.status, 200);
      assert.match(String(stream.headers['content-type']), /^text\/event-stream/);
      await stream.waitForEvents(2);
      source.emit('item.failed', 'prices', { key: 'BTC/USD', error: 'boom' });
      source.emit('runtime.stopping', null, { reason: 'test' });
      await stream.waitForEvents(4);
      stream.close();
      const frame = stream.frames.find((f) => f.id === '3');
      assert.equal(frame?.event, 'item.failed');
      assert.deepEqual(JSON.parse(frame?.data ?? ''), {
        seq: 3,
        at: FAKE_NOW + 2,
        type: 'item.failed',
        loop: 'prices',
        data: { key: 'BTC/USD', error: 'boom' },
      });
      assert.deepEqual(seqs(stream.events), [1, 2, 3, 4]);
      assert.deepEqual(
        stream.events.map((e) => [e.id, e.event, e.type, e.loop]),
        [
          ['1', 'cycle.started', 'cycle.started', 'prices'],
          ['2', 'cycle.finished', 'cycle.finished', 'prices'],
          ['3', 'item.failed', 'item.failed', 'prices'],
          ['4', 'runtime.stopping', 'runtime.stopping', null],
        ],
      );
    });
  });

  it('history on connect is the newest 100 events', async () => {
    const source = createFakeHttpSource();
    for (let i = 0; i < 150; i++) source.emit('cycle.started', 'prices', { i });
    await withStream(source, async ({ client }) => {
      const stream = await client.sse('/events');
      await stream.waitForEvents(100);
      await sleep(50);
      stream.close();
      assert.deepEqual(seqs(stream.events), range(51, 150));
    });
  });

  it('resumes after Last-Event-ID with no gap and no duplicate, then goes on live', async () => {
    const source = createFakeHttpSource();
    for (let i = 0; i < 5; i++) source.emit('cycle.started', 'prices', { i });
    await withStream(
      source,
      async ({ client }) => {
        const first = await client.sse('/events');
        await first.waitForEvents(5);
        first.close();
        const lastId = first.events.at(-1)?.id ?? '';
        // Missed while disconnected; more than one batch (batchLimit 4 below).
        for (let i = 0; i < 9; i++) source.emit('item.succeeded', 'prices', { i });

        const second = await client.sse('/events', { 'last-event-id': lastId });
        await second.waitForEvents(9);
        source.emit('cycle.finished', 'prices', {});
        await second.waitForEvents(10);
        await sleep(50);
        second.close();
        assert.deepEqual(seqs(second.events), range(6, 15));
        assert.deepEqual([...seqs(first.events), ...seqs(second.events)], range(1, 15), 'every event exactly once');

        // ?after= is the same for clients that cannot set headers; the header wins when both are sent.
        const third = await client.sse('/events?after=12');
        await third.waitForEvents(3);
        third.close();
        assert.deepEqual(seqs(third.events), [13, 14, 15]);
        const fourth = await client.sse('/events?after=0', { 'last-event-id': '14' });
        await fourth.waitForEvents(1);
        await sleep(30);
        fourth.close();
        assert.deepEqual(seqs(fourth.events), [15]);
      },
      { batchLimit: 4 },
    );
  });

  it('400 naming the parameter for a bad Last-Event-ID or ?after', async () => {
    await withStream(createFakeHttpSource(), async ({ client }) => {
      const header = await client.get('/events', { 'last-event-id': 'abc' });
      assert.equal(header.status, 400);
      assert.equal(header.json().field, 'Last-Event-ID');
      assert.ok(!header.body.includes('abc'), 'the header value is not echoed');
      const query = await client.get('/events?after=-3');
      assert.equal(query.status, 400);
      assert.equal(query.json().field, 'after');
      assert.match(String(query.json().error), /^GET \/events: query after: expected an event id/);
    });
  });

  it('sends a heartbeat comment when idle', async () => {
    await withStream(
      createFakeHttpSource(),
      async ({ client }) => {
        const stream = await client.sse('/events');
        await waitFor('a heartbeat', () => stream.comments.includes('heartbeat'));
        stream.close();
        assert.deepEqual(stream.events, []);
      },
      { heartbeatMs: 30 },
    );
  });

  it('stops polling and leaves no timer once the client disconnects', async () => {
    const source = createFakeHttpSource();
    await withStream(source, async ({ client }, clock) => {
      const stream = await client.sse('/events');
      await waitFor('a few polls', () => source.reads.after >= 3);
      assert.equal(clock.pendingSleeps <= 1, true);
      stream.close();
      await waitFor('the poll loop to end', () => clock.pendingSleeps === 0);
      const polls = source.reads.after;
      const sleeps = clock.sleeps;
      await sleep(100); // ten poll intervals
      assert.equal(source.reads.after, polls, 'no poll after the disconnect');
      assert.equal(clock.sleeps, sleeps, 'no new timer after the disconnect');
    });
  });

  it('server stop ends open streams (no leaked poll loop)', async () => {
    const source = createFakeHttpSource();
    const clock = countingClock();
    const server = await serve(source, { clock, events: { pollMs: 10 } });
    const streams = await Promise.all([server.client.sse('/events'), server.client.sse('/events')]);
    await waitFor('both streams polling', () => source.reads.after >= 4);
    await server.stop();
    await waitFor('both streams closed', () => streams.every((s) => s.closed));
    await waitFor('the poll loops to end', () => clock.pendingSleeps === 0);
    transcript.entries.push(...server.client.transcript.entries);
  });

  it('a failing event log: 503 on connect; mid-stream, one stream-error frame and polling goes on', async () => {
    const down = createFakeHttpSource({
      events: {
        latest: async () => {
          throw new Error('database is locked');
        },
      },
    });
    await withStream(down, async ({ client }) => {
      const res = await client.get('/events');
      assert.equal(res.status, 503);
      assert.equal(res.json().error, 'events: cannot read the event log: database is locked');
    });

    let failing = false;
    const flaky: FakeHttpSource = createFakeHttpSource({
      events: {
        after: async (seq, limit) => {
          if (failing) throw new Error('database is locked');
          return (await flaky.events.latest(1000)).filter((e) => e.seq > seq).slice(0, limit);
        },
      },
    });
    await withStream(flaky, async ({ client }) => {
      const stream = await client.sse('/events');
      failing = true;
      await waitFor('a stream-error frame', () => stream.frames.some((f) => f.event === 'stream-error'));
      await sleep(50);
      assert.equal(stream.frames.filter((f) => f.event === 'stream-error').length, 1, 'said once per outage');
      flaky.emit('cycle.started', 'prices', {});
      failing = false;
      await stream.waitForEvents(1);
      stream.close();
    });
  });

  it('HEAD /events answers the headers without opening a stream', async () => {
    const source = createFakeHttpSource();
    await withStream(source, async ({ client }, clock) => {
      const res = await client.request('/events', { method: 'HEAD' });
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^text\/event-stream/);
      await sleep(30);
      assert.equal(clock.sleeps, 0);
    });
  });
});
