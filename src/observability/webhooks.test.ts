import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import type { Logger } from '../core/logger.ts';
import { VirtualClock } from '../time/virtual-clock.ts';
import { type WebhookBody, WebhookDispatcher, type WebhookTarget } from './webhooks.ts';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: WebhookBody;
}

/** A real HTTP server; `respond` decides each answer (status, or 'hang' to never answer). */
async function server(respond: (n: number) => number | 'hang' | { status: number; retryAfter: string }) {
  const received: Received[] = [];
  const hanging: ServerResponse[] = [];
  const listening: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => {
      text += chunk;
    });
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(text) as WebhookBody });
      const answer = respond(received.length);
      if (answer === 'hang') {
        hanging.push(res);
        return;
      }
      const status = typeof answer === 'number' ? answer : answer.status;
      const headers = typeof answer === 'number' ? {} : { 'retry-after': answer.retryAfter };
      res.writeHead(status, headers).end('{}');
    });
  });
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  const { port } = listening.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/SECRET-PATH`,
    received,
    async close() {
      for (const res of hanging) res.destroy();
      listening.closeAllConnections();
      await new Promise<void>((resolve) => listening.close(() => resolve()));
    },
  };
}

/** Waits for I/O (the real server) until `predicate` holds; fails after 5 s of real time. */
async function ioUntil(predicate: () => boolean): Promise<void> {
  const deadline = performance.now() + 5_000;
  while (!predicate()) {
    if (performance.now() > deadline) assert.fail('timed out waiting for I/O');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function capture() {
  const lines: string[] = [];
  const make = (): Logger => {
    const log = (fields: object, message?: string) => lines.push(`${message} ${JSON.stringify(fields)}`);
    return { debug: log, info: log, warn: log, error: log, child: () => make() };
  };
  return { logger: make(), lines };
}

function target(url: string, extra: Partial<WebhookTarget> = {}): WebhookTarget {
  return {
    url,
    events: ['alert.firing', 'alert.resolved'],
    headers: { authorization: 'Bearer hook-secret-123' },
    timeoutMs: 5_000,
    attempts: 5,
    ...extra,
  };
}

const servers: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const s of servers) await s.close();
});

describe('WebhookDispatcher', () => {
  it('retries with backoff on the clock against a server that fails twice, then delivers', async () => {
    const hook = await server((n) => (n <= 2 ? 503 : 200));
    servers.push(hook);
    const clock = new VirtualClock({ now: Date.UTC(2026, 0, 1) });
    const { logger, lines } = capture();
    const dispatcher = new WebhookDispatcher({
      targets: [target(hook.url)],
      clock,
      logger,
      random: () => 0.5,
      backoffMs: 1_000,
    });
    const stop = new AbortController();
    const running = dispatcher.run(stop.signal);
    dispatcher.send('alert.firing', { alert: 'X', value: 1 });
    dispatcher.send('cycle.finished', { ignored: true }); // not subscribed

    await ioUntil(() => dispatcher.stats.retries === 1);
    assert.equal(hook.received.length, 1);
    await clock.advance(499);
    assert.equal(hook.received.length, 1, 'the first backoff (0.5 x 1 s) has not passed');
    await clock.advance(1);
    await ioUntil(() => dispatcher.stats.retries === 2);
    assert.equal(hook.received.length, 2);
    await clock.advance(1_000); // the second backoff: 0.5 x 2 s
    await ioUntil(() => dispatcher.stats.delivered === 1);

    assert.equal(hook.received.length, 3);
    const first = hook.received[0] as Received;
    assert.equal(first.path, '/hooks/SECRET-PATH');
    assert.equal(first.headers['content-type'], 'application/json');
    assert.equal(first.headers.authorization, 'Bearer hook-secret-123');
    assert.deepEqual(first.body, {
      event: 'alert.firing',
      sentAt: '2026-01-01T00:00:00.000Z',
      data: { alert: 'X', value: 1 },
    });
    assert.deepEqual(dispatcher.stats, { queued: 0, delivered: 1, failed: 0, dropped: 0, retries: 2 });
    const logged = lines.join('\n');
    assert.match(logged, /webhook failed; retrying/);
    assert.ok(!logged.includes('hook-secret-123'), 'header secrets are never logged');
    assert.ok(!logged.includes('SECRET-PATH'), 'the URL path is never logged');

    stop.abort();
    await running;
    assert.equal(clock.pendingTimers, 0);
  });

  it('never blocks the caller: send returns at once while the endpoint hangs, and a full queue drops the oldest', async () => {
    const hook = await server(() => 'hang');
    servers.push(hook);
    const clock = new VirtualClock();
    const { logger, lines } = capture();
    const dispatcher = new WebhookDispatcher({
      targets: [target(hook.url, { attempts: 1 })],
      clock,
      logger,
      queueSize: 3,
    });
    const stop = new AbortController();
    const running = dispatcher.run(stop.signal);
    dispatcher.send('alert.firing', { n: 0 });
    await ioUntil(() => hook.received.length === 1); // n: 0 is in flight, unanswered
    for (let n = 1; n <= 5; n++) assert.equal(dispatcher.send('alert.firing', { n }), undefined);
    assert.deepEqual(dispatcher.stats, { queued: 4, delivered: 0, failed: 0, dropped: 2, retries: 0 });
    assert.match(lines.join('\n'), /webhook queue full: dropped oldest/);

    await clock.advance(5_000); // the attempt's timeout, on the clock
    await ioUntil(() => hook.received.length === 2);
    assert.equal(dispatcher.stats.failed, 1);
    assert.deepEqual(hook.received[1]?.body.data, { n: 3 }, 'n: 1 and 2 were dropped');
    assert.match(lines.join('\n'), /TimeoutError: timed out after 5000 ms/);

    stop.abort();
    await running;
    assert.equal(dispatcher.stats.queued, 3, 'what was left stays queued');
    assert.equal(clock.pendingTimers, 0);
  });

  it('does not retry a 4xx refusal, honours Retry-After on 429, and filters events per target', async () => {
    const refusing = await server(() => 400);
    const limited = await server((n) => (n === 1 ? { status: 429, retryAfter: '7' } : 204));
    servers.push(refusing, limited);
    const clock = new VirtualClock();
    const dispatcher = new WebhookDispatcher({
      targets: [target(refusing.url), target(limited.url, { events: ['alert.resolved'] })],
      clock,
      random: () => 0,
    });
    const stop = new AbortController();
    const running = dispatcher.run(stop.signal);
    dispatcher.send('alert.firing', { a: 1 });
    dispatcher.send('alert.resolved', { a: 1 });
    await ioUntil(() => dispatcher.stats.failed === 2 && dispatcher.stats.retries === 1);
    assert.equal(refusing.received.length, 2, 'each event once: a 400 is not retried');
    assert.deepEqual(
      limited.received.map((r) => r.body.event),
      ['alert.resolved'],
    );
    await clock.advance(6_999);
    assert.equal(limited.received.length, 1, 'waits the 7 s the server asked for');
    await clock.advance(1);
    await ioUntil(() => dispatcher.stats.delivered === 1);
    assert.equal(limited.received.length, 2);
    stop.abort();
    await running;
  });

  it('an abort ends run at once, aborting the request in flight', async () => {
    const hook = await server(() => 'hang');
    servers.push(hook);
    const clock = new VirtualClock();
    const dispatcher = new WebhookDispatcher({ targets: [target(hook.url)], clock });
    const stop = new AbortController();
    const running = dispatcher.run(stop.signal);
    dispatcher.send('alert.firing', {});
    await ioUntil(() => hook.received.length === 1);
    stop.abort();
    await running;
    assert.deepEqual(dispatcher.stats, { queued: 1, delivered: 0, failed: 0, dropped: 0, retries: 0 });
    assert.equal(clock.pendingTimers, 0);
  });
});
