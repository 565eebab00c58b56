/**
 * The supervisor with real child processes (issue 15's "must show"), each
 * bounded for a busy 2-core machine: a crash loop's delays, a leak restarted
 * within 4 s of crossing its limit, a hung service restarted by its health
 * check, a SIGTERM-proof group SIGKILLed at the kill timeout. Every test
 * SIGKILLs the groups its services had in `finally`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { groupAlive } from '../src/supervisor/process-group.ts';
import { groupMembers } from '../src/supervisor/process-table.ts';
import { serviceSpec } from '../src/supervisor/service-spec.ts';
import { freePort, ofType, startSupervisor } from './support/supervisor-harness.ts';

const FIXTURES = resolve(fileURLToPath(new URL('.', import.meta.url)), 'fixtures/services');
const MB = 1024 * 1024;
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('supervised services, real processes', { timeout: 60_000 }, () => {
  it('a crash loop restarts after 0.1, 0.2, 0.4, 0.8 s (exit to next start)', async () => {
    const sv = await startSupervisor([serviceSpec({ name: 'crash', argv: ['/bin/sh', '-c', 'exit 1'] })]);
    try {
      await sv.waitFor('5 starts', (events) => ofType(events, 'service.started').length >= 5);
      const starts = ofType(sv.events, 'service.started');
      const exits = ofType(sv.events, 'service.exited');
      const gaps = [0, 1, 2, 3].map(
        (i) => (starts[i + 1] as { wallMs: number }).wallMs - (exits[i] as { wallMs: number }).wallMs,
      );
      const planned = ofType(sv.events, 'service.restarting')
        .slice(0, 4)
        .map((e) => e.data.delayMs);
      assert.deepEqual(planned, [100, 200, 400, 800]);
      gaps.forEach((gap, i) => {
        const want = planned[i] as number;
        assert.ok(gap >= want - 5 && gap <= want + 250, `restart ${i + 1}: waited ${gap} ms, planned ${want} ms`);
      });
      console.log(`# crash loop: exit-to-start gaps ${gaps.join(', ')} ms (planned ${planned.join(', ')})`);
    } finally {
      await sv.close();
    }
  });

  it('a child leaking ~50 MB/s with a 256 MB limit is restarted within 4 s of crossing it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'autoloop-leak-'));
    dirs.push(dir);
    const limit = 256 * MB;
    const sv = await startSupervisor([
      serviceSpec({
        name: 'leak',
        argv: [process.execPath, join(FIXTURES, 'leak.mjs')],
        env: { LIMIT_BYTES: String(limit), CROSS_DIR: dir },
        memory: { limit: { bytes: limit }, samples: 2 },
      }),
    ]);
    try {
      await sv.waitFor('a restart after the memory limit', (events) => ofType(events, 'service.started').length >= 2);
      const [first, second] = ofType(sv.events, 'service.started');
      const crossedAt = Number(readFileSync(join(dir, `crossed-${first?.data.pid}`), 'utf8'));
      const limitEvent = ofType(sv.events, 'service.memory_limit')[0];
      assert.ok(limitEvent, 'a service.memory_limit event');
      assert.ok(limitEvent.data.rssBytes > limit);
      const exited = ofType(sv.events, 'service.exited')[0];
      assert.match(exited?.data.reason ?? '', /^memory \d+ MB over the limit of 256 MB for 2 samples$/);
      const detectMs = limitEvent.wallMs - crossedAt;
      const restartMs = (second?.wallMs as number) - crossedAt;
      console.log(`# memory: crossed -> limit event ${detectMs} ms, crossed -> new process ${restartMs} ms`);
      assert.ok(restartMs <= 4_000, `restarted ${restartMs} ms after crossing`);
      assert.equal(groupAlive(first?.data.pid as number), false, 'the old group is gone');
    } finally {
      await sv.close();
    }
  });

  it('a hung service (health check failing) is restarted', async () => {
    const port = await freePort();
    const sv = await startSupervisor([
      serviceSpec({
        name: 'hang',
        argv: [process.execPath, join(FIXTURES, 'hang.mjs')],
        env: { PORT: String(port), HANG_AFTER_MS: '1500' },
        ready: { kind: 'log', pattern: /listening on/, timeoutMs: 10_000 },
        health: {
          kind: 'http',
          url: `http://127.0.0.1:${port}/health`,
          intervalMs: 300,
          timeoutMs: 300,
          failures: 2,
          startPeriodMs: 0,
        },
      }),
    ]);
    try {
      await sv.waitFor('a restart after failed health checks', (events) => ofType(events, 'service.ready').length >= 2);
      const exited = ofType(sv.events, 'service.exited')[0];
      // The two failures in a row that stopped the first process (on a busy
      // machine one check may also time out once, then pass, before the hang).
      const failed = ofType(sv.events, 'service.health_failed').filter((e) => e.wallMs <= (exited?.wallMs ?? 0));
      assert.deepEqual(
        failed.slice(-2).map((e) => e.data.failures),
        [1, 2],
      );
      assert.match(failed.at(-1)?.data.detail ?? '', /no answer within 300 ms/);
      assert.match(exited?.data.reason ?? '', /^health check failed 2 times in a row/);
      const restarting = ofType(sv.events, 'service.restarting')[0];
      assert.equal(restarting?.data.delayMs, 0);
      const [first, second] = ofType(sv.events, 'service.started');
      assert.notEqual(first?.data.pid, second?.data.pid);
      const answer = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1_000) });
      assert.equal(answer.status, 200, 'the new process answers');
      console.log(`# hang: hung at +1500 ms, restarted at +${(second?.wallMs ?? 0) - (first?.wallMs ?? 0)} ms`);
    } finally {
      await sv.close();
    }
  });

  it('a group that ignores SIGTERM is SIGKILLed whole at the kill timeout', async () => {
    // The shell and both sleeps ignore SIGTERM (an ignored signal stays ignored across exec).
    const sv = await startSupervisor([
      serviceSpec({
        name: 'stubborn',
        argv: ['/bin/sh', '-c', 'trap "" TERM; sleep 1000 & sleep 1000 & wait'],
        killTimeoutMs: 1_000,
      }),
    ]);
    try {
      await sv.waitFor('the group', (events) => ofType(events, 'service.started').length >= 1);
      const pgid = ofType(sv.events, 'service.started')[0]?.data.pid as number;
      await waitMembers(pgid, 3);
      const asked = Date.now();
      sv.supervisor.restart('stubborn', 'test restart');
      await sv.waitFor('the exit', (events) => ofType(events, 'service.exited').length >= 1);
      const tookMs = Date.now() - asked;
      const exited = ofType(sv.events, 'service.exited')[0];
      assert.equal(exited?.data.signal, 'SIGKILL');
      assert.deepEqual(groupMembers(pgid), [], 'no member of the group is left');
      assert.ok(tookMs >= 1_000 && tookMs < 1_800, `stopped after ${tookMs} ms with a 1000 ms kill timeout`);
      console.log(`# stubborn group: SIGKILLed ${tookMs} ms after the stop (kill timeout 1000 ms)`);
      await sv.waitFor('the restart', (events) => ofType(events, 'service.started').length >= 2);
    } finally {
      await sv.close();
    }
  });

  it('stop holds a service stopped (group gone, state in the store) until start', async () => {
    const sv = await startSupervisor([serviceSpec({ name: 'idle', argv: ['sleep', '1000'] })]);
    try {
      await sv.waitFor('the start', (events) => ofType(events, 'service.started').length >= 1);
      const pgid = ofType(sv.events, 'service.started')[0]?.data.pid as number;
      sv.supervisor.stop('idle');
      await sv.waitFor('the exit', (events) => ofType(events, 'service.exited').length >= 1);
      await new Promise((r) => setTimeout(r, 300));
      const [status] = sv.supervisor.status().instances;
      assert.equal(status?.state, 'stopped');
      assert.equal(groupAlive(pgid), false);
      assert.equal(ofType(sv.events, 'service.started').length, 1, 'not restarted while stopped');
      const doc = await sv.store.documents.list('services');
      assert.equal((doc[0]?.value as { state: string } | undefined)?.state, 'stopped');
      sv.supervisor.start('idle');
      await sv.waitFor('the start again', (events) => ofType(events, 'service.started').length >= 2);
      assert.equal(sv.supervisor.status().instances[0]?.restarts, 0, 'an operator stop and start is no crash');
      assert.throws(() => sv.supervisor.stop('nope'), /unknown service "nope"; services in this config: idle/);
    } finally {
      await sv.close();
    }
  });
});

async function waitMembers(pgid: number, count: number): Promise<void> {
  const until = Date.now() + 5_000;
  while (groupMembers(pgid).length < count) {
    if (Date.now() > until) throw new Error(`group ${pgid} never had ${count} members`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
