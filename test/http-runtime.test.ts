/**
 * The HTTP surface of a real runtime over real sockets: /status, /tasks,
 * /loops/:name/cycles, /health/*, /events and the admin routes
 * (run, pause, resume, shutdown) with the bearer token; and the refusal to
 * listen beyond loopback without a token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defineLoop } from '../src/config/define-loop.ts';
import type { Logger } from '../src/core/logger.ts';
import { createRuntime, type Runtime } from '../src/runtime/runtime.ts';
import { HttpClient, Transcript, testToken, waitFor } from './http-support.ts';

const TOKEN = testToken();
const transcript = new Transcript();

/** Every log line of the runtimes in this file, scanned for the token with the responses. */
function capturingLogger(lines: string[], bindings: object = {}): Logger {
  const log = (level: string) => (fields: object, message?: string) => {
    lines.push(JSON.stringify({ level, ...bindings, ...fields, msg: message }));
  };
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (more) => capturingLogger(lines, { ...bindings, ...more }),
  };
}
const logLines: string[] = [];
const logger = capturingLogger(logLines);

after(() => {
  transcript.assertNoSecret(TOKEN);
  for (const line of logLines) assert.ok(!line.includes(TOKEN), `a log line contains the token: ${line}`);
});

function loops() {
  return [
    defineLoop({
      name: 'x',
      trigger: { interval: '1h' },
      observe: () => ['a', 'b', 'c'],
      act: (item) => ({ done: item.key }),
      policies: { timeout: '5s' },
    }),
    defineLoop({ name: 'y', trigger: { interval: '1h' }, act: () => null }),
  ];
}

describe('HTTP on a real runtime', () => {
  let runtime: Runtime;
  let client: HttpClient;

  before(async () => {
    runtime = createRuntime({ loops: loops(), http: { host: '127.0.0.1', port: 0, token: TOKEN }, logger });
    await runtime.start();
    client = new HttpClient(runtime.url ?? '', transcript);
  });

  after(async () => {
    await runtime.stop({ graceMs: 1_000 });
  });

  it('admin run: a cycle over real sockets, visible in /loops/x/cycles, /status and /events', async () => {
    const events = await client.sse('/events');
    assert.equal(events.status, 200);

    assert.equal((await client.post('/loops/x/run')).status, 401);
    const res = await client.post('/loops/x/run', TOKEN);
    assert.equal(res.status, 200);
    const record = res.json() as ReturnType<typeof JSON.parse>;
    assert.equal(record.loop, 'x');
    assert.equal(record.trigger, 'manual');
    assert.deepEqual(record.outcome, { kind: 'ok' });
    assert.deepEqual(record.counts, { planned: 3, succeeded: 3, failed: 0, skipped: 0 });

    const cycles = await client.get('/loops/x/cycles?limit=10');
    assert.equal(cycles.status, 200);
    const records = JSON.parse(cycles.body) as Array<{ id: string }>;
    assert.equal(records[0]?.id, record.id);
    assert.equal((await client.get('/loops/z/cycles')).status, 404);
    assert.equal((await client.get('/loops/x/cycles?limit=0')).status, 400);

    const status = (await client.get('/status')).json() as ReturnType<typeof JSON.parse>;
    assert.equal(status.state, 'running');
    assert.equal(status.store, 'memory://');
    const x = status.loops.find((l: { name: string }) => l.name === 'x');
    assert.equal(x.lastCycle.id, record.id);

    // The recorder writes the bus's events to the log in batches; the stream polls the log.
    await waitFor('cycle.finished on /events', () => events.events.some((e) => e.type === 'cycle.finished'), 5_000);
    events.close();
    const types = events.events.map((e) => e.type);
    assert.ok(types.includes('cycle.started'), types.join(', '));
    const seqs = events.events.map((e) => e.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      'in log order',
    );
    assert.equal(new Set(seqs).size, seqs.length, 'no duplicates');
  });

  it('/tasks: the queue view (empty once cycles are done)', async () => {
    const res = await client.get('/tasks');
    assert.equal(res.status, 200);
    const tasks = res.json() as ReturnType<typeof JSON.parse>;
    assert.equal(tasks.total, 0);
    assert.deepEqual(tasks.items, []);
  });

  it('admin pause and resume change the loop state in /status', async () => {
    const paused = await client.post('/loops/y/pause', TOKEN);
    assert.equal(paused.status, 200);
    assert.equal(runtime.loop('y').paused, true);
    const status = (await client.get('/status')).json() as ReturnType<typeof JSON.parse>;
    assert.equal(status.loops.find((l: { name: string }) => l.name === 'y').paused, true);
    const health = await client.get('/health/loop:y');
    assert.equal(health.json().detail, 'paused');

    assert.equal((await client.post('/loops/y/resume', TOKEN)).status, 200);
    assert.equal(runtime.loop('y').paused, false);
    assert.equal((await client.post('/loops/y/resume', 'wrong-token-value')).status, 401);
  });

  it('health routes answer from the runtime', async () => {
    assert.equal((await client.get('/health/live')).status, 200);
    assert.equal((await client.get('/health/ready')).status, 200);
    assert.equal((await client.get('/health/store')).status, 200);
    const detailed = await client.get('/health/detailed');
    assert.equal(detailed.status, 200);
    const body = detailed.json() as ReturnType<typeof JSON.parse>;
    assert.deepEqual(
      body.loops.map((l: { name: string }) => l.name),
      ['x', 'y'],
    );
    assert.equal(body.loops[0].lastCycle.items.succeeded, 3);
    assert.equal(body.store.connected, true);
    assert.equal((await client.get('/health', { host: 'attacker.example' })).status, 403);
  });
});

describe('bind policy on a real runtime', () => {
  it('Kubernetes: bound to 0.0.0.0 without a token, probes and scrapes by pod IP get 200, admin and reads are refused', async () => {
    const runtime = createRuntime({ loops: loops(), http: { host: '0.0.0.0', port: 0 }, logger });
    await runtime.start();
    try {
      const port = new URL(runtime.url ?? '').port;
      // Only ever 127.0.0.1 on the wire; the Host header says what kubelet and Prometheus would.
      const client = new HttpClient(`http://127.0.0.1:${port}`, transcript);
      const podHost = { host: '10.1.2.3:8080' };
      const probe = await client.get('/health/ready', { ...podHost, 'user-agent': 'kube-probe/1.30' });
      assert.equal(probe.status, 200, probe.body);
      assert.equal((await client.get('/health/live', { ...podHost, 'user-agent': 'kube-probe/1.30' })).status, 200);
      const scrape = await client.get('/metrics', {
        ...podHost,
        accept: 'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.1',
        'user-agent': 'Prometheus/2.42.0',
      });
      assert.equal(scrape.status, 200);
      assert.match(scrape.body, /^autoloop_cycles_total\{/m);
      // Admin: off without a token, whatever the Host.
      for (const host of ['10.1.2.3:8080', `127.0.0.1:${port}`]) {
        const admin = await client.request('/loops/x/pause', { method: 'POST', headers: { host } });
        assert.ok(admin.status === 403, `POST /loops/x/pause with Host ${host}: ${admin.status} ${admin.body}`);
      }
      assert.match((await client.request('/shutdown', { method: 'POST' })).body, /admin endpoints are disabled/);
      assert.equal(runtime.state, 'running');
      // What a rebinding page could read stays behind the Host check, on this bind too.
      for (const path of ['/', '/status', '/events', '/tasks', '/health/detailed', '/loops/x/cycles']) {
        assert.equal((await client.get(path, podHost)).status, 403, path);
        assert.equal((await client.get(path, { host: 'evil.example' })).status, 403, path);
      }
    } finally {
      await runtime.stop({ graceMs: 1_000 });
    }
  });

  it('starts on a non-loopback bind with a token', async () => {
    const runtime = createRuntime({ loops: loops(), http: { host: '0.0.0.0', port: 0, token: TOKEN }, logger });
    await runtime.start();
    try {
      const port = new URL(runtime.url ?? '').port;
      const client = new HttpClient(`http://127.0.0.1:${port}`, transcript);
      assert.equal((await client.get('/health/live')).status, 200);
      assert.equal((await client.get('/health/live', { host: '0.0.0.0' })).status, 200, 'the bind host is allowed');
    } finally {
      await runtime.stop({ graceMs: 1_000 });
    }
  });

  it('POST /shutdown stops the runtime gracefully after answering 202', async () => {
    const runtime = createRuntime({ loops: loops(), http: { host: '127.0.0.1', port: 0, token: TOKEN }, logger });
    await runtime.start();
    const client = new HttpClient(runtime.url ?? '', transcript);
    const res = await client.post('/shutdown', TOKEN);
    assert.equal(res.status, 202);
    await waitFor('the runtime to stop', () => runtime.state === 'stopped', 5_000);
    await runtime.stop();
  });
});
