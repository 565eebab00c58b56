import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, afterEach, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { maxInAnyWindow } from '../src/policies/window-log.ts';
import { type LatencyServer, startLatencyServer } from './support/latency-server.ts';
import type { RateLimitChildSpec } from './support/rate-limit-child.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';

/**
 * Issue 13's must-show: 3 real processes on one store share
 * `rateLimit: { requests: 20, per: 10s }` and keep asking for more calls
 * than it allows, against a real local HTTP stand-in. At the server, no
 * 10 s window may hold more than 20 calls, and the calls must use >= 90% of
 * the limit; then one 429 with `Retry-After: 15` must pause every process.
 * The same on a SQLite file and on Redis. The run is 30 s per store under
 * `npm test` and the issue's full 60 s under `npm run test:long`.
 */

const LONG = process.env.AUTOLOOP_LONG === '1';
const RUN_MS = LONG ? 60_000 : 30_000;
const LIMIT = 20;
const PER_MS = 10_000;
const RETRY_AFTER_S = 15;

const projectRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const childScript = join(projectRoot, 'test', 'support', 'rate-limit-child.ts');
const root = mkdtempSync(join(tmpdir(), 'autoloop-rate-limit-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface Child {
  readonly process: ChildProcess;
  readonly lines: Array<{ ev: string; t: number; role: string; status?: number }>;
  readonly exited: Promise<unknown>;
  stderr(): string;
}

const children: Child[] = [];
let server: LatencyServer | undefined;

afterEach(async () => {
  // Nothing may outlive its test.
  for (const child of children.splice(0)) {
    if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
    await child.exited;
  }
  await server?.close();
  server = undefined;
});

function startChild(spec: RateLimitChildSpec): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', childScript, JSON.stringify(spec)], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  const lines: Child['lines'] = [];
  let stderr = '';
  let partial = '';
  proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const part of parts) if (part.trim() !== '') lines.push(JSON.parse(part));
  });
  proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const child: Child = { process: proc, lines, exited: once(proc, 'exit'), stderr: () => stderr };
  children.push(child);
  return child;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function pollUntil(what: string, ok: () => boolean, timeoutMs: number, context: () => string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!ok()) {
    if (performance.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${context()}`);
    await sleep(50);
  }
}

/** The mean number of `times` in a window [s, s + PER_MS), over every start s in [from, to - PER_MS], 10 ms apart. */
function meanPerWindow(times: readonly number[], from: number, to: number): number {
  let sum = 0;
  let samples = 0;
  for (let s = from; s + PER_MS <= to; s += 10) {
    sum += times.filter((t) => t >= s && t < s + PER_MS).length;
    samples++;
  }
  return sum / samples;
}

async function shareOneLimit(store: Pick<RateLimitChildSpec, 'store' | 'db'>, label: string): Promise<void> {
  server = await startLatencyServer({ base: 50, knee: 1_000 });
  const stand = server;
  const procs = ['p1', 'p2', 'p3'].map((role) =>
    startChild({ ...store, role, url: stand.url, rateLimit: { requests: LIMIT, per: '10s' }, items: 10 }),
  );
  const why = () => procs.map((c) => c.stderr()).join('\n');
  await pollUntil('3 ready processes', () => procs.every((c) => c.lines.some((l) => l.ev === 'ready')), 90_000, why);

  const from = performance.now();
  await sleep(RUN_MS);
  const to = performance.now();
  const run = stand.log().map((r) => r.arrivedAt);
  const maxRun = maxInAnyWindow(run, PER_MS);
  const mean = meanPerWindow(run, from, to);
  const roles = new Set(procs.flatMap((c) => c.lines.filter((l) => l.ev === 'call').map((l) => l.role)));
  console.log(
    `${label}: ${run.length} calls in ${Math.round((to - from) / 1000)} s (+ start-up); max in any 10 s window ${maxRun}; ` +
      `mean per 10 s window ${mean.toFixed(1)} (${((100 * mean) / LIMIT).toFixed(1)}% of ${LIMIT}); callers ${[...roles].join(',')}`,
  );
  assert.ok(maxRun <= LIMIT, `${label}: ${maxRun} calls in one 10 s window at the server`);
  assert.ok(mean >= 0.9 * LIMIT, `${label}: ${mean.toFixed(2)} calls per 10 s window, below 90% of ${LIMIT}`);
  assert.equal(roles.size, 3, `${label}: every process called`);

  // One 429 with Retry-After: 15 s pauses the shared bucket: nobody calls until it ends, then calls resume.
  stand.set({ status429: { retryAfter: String(RETRY_AFTER_S), count: 1 } });
  await pollUntil('the 429', () => stand.stats().rateLimited === 1, 30_000, why);
  const at429 = stand.log().find((r) => r.status === 429)?.arrivedAt as number;
  await sleep(Math.max(0, at429 + RETRY_AFTER_S * 1000 + 5_000 - performance.now()));
  const all = stand.log().map((r) => r.arrivedAt);
  // Calls granted just before the pause was written may still land in the first moments after the 429.
  const during = all.filter((t) => t > at429 + 1_000 && t < at429 + RETRY_AFTER_S * 1000 - 200);
  const resumed = all.filter((t) => t >= at429 + RETRY_AFTER_S * 1000 - 200);
  console.log(
    `${label}: 429 at +${Math.round(at429 - from)} ms; ${during.length} calls during the pause, ${resumed.length} in the 5 s after`,
  );
  assert.equal(during.length, 0, `${label}: calls during the pause at +${during.map((t) => Math.round(t - at429))} ms`);
  assert.ok(resumed.length > 0, `${label}: calls resume after the pause`);
  assert.ok(maxInAnyWindow(all, PER_MS) <= LIMIT, `${label}: ${maxInAnyWindow(all, PER_MS)} in one window overall`);

  for (const child of procs) child.process.kill('SIGTERM');
  await Promise.all(procs.map((c) => c.exited));
}

const timeout = RUN_MS + 240_000;

describe('rateLimit shared by 3 processes, at a real HTTP stand-in', () => {
  it('SQLite file: at most 20 calls in any 10 s window, >= 90% of the limit; a 429 pauses every process', {
    timeout,
  }, async () => {
    await shareOneLimit({ db: join(root, 'shared.db') }, 'sqlite');
  });

  describe('Redis', () => {
    let redis: TestRedis | undefined;
    before(async () => {
      redis = await startRedis();
    });
    after(async () => {
      await redis?.stop();
    });

    it('Redis: at most 20 calls in any 10 s window, >= 90% of the limit; a 429 pauses every process', {
      timeout,
    }, async () => {
      const url = new URL((redis as TestRedis).url);
      url.pathname = '/5';
      url.searchParams.set('prefix', `autoloop-test:rate:${randomBytes(4).toString('hex')}:`);
      await shareOneLimit({ store: url.toString() }, 'redis');
    });
  });
});
