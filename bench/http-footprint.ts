/**
 * The HTTP surface's footprint, in one run, beside a bare fastify +
 * prom-client process (bench/support/fastify-health.mjs: `/health` and
 * `/metrics` with prom-client's default metrics, nothing else):
 *
 * - spawn to ready: `node bin/autoloop.js start --foreground --config
 *   <tmp>/autoloop.yaml --store sqlite://<tmp>/s.db --port 0` until its first 200
 *   from `/health/ready` (the URL read from its stderr line `health
 *   http://127.0.0.1:PORT/health`), median of 3, each on a fresh SQLite file;
 *   fastify's spawn to its first 200 from `/health` the same way.
 * - RSS (`VmRSS` from /proc/<pid>/status) 10 s after each process answered
 *   ready; both idle at the same time. "Idle" means no HTTP traffic: the demo
 *   config's two loops keep running (a cron every 10 s, an interval every 15 s).
 * - `/health` under load: autocannon (in this process) with 200 connections
 *   for 5 s, one target at a time, against autoloop's
 *   `/health/live` (no I/O) and `/health` (the report the runtime computes
 *   once a second), and fastify's `/health`: p50, p99, requests/s and the
 *   ratios. Every target gets the same treatment: first all three are warmed
 *   in turn, 2 s each at the same load (V8 optimises each server's request
 *   path, and autocannon's own, then; unmeasured on both sides alike), then
 *   each is measured for 5 s while the other server idles. (Warming each
 *   target just before its own run left the first-measured one paying for the
 *   load generator's warm-up.)
 *
 * Both sides as a user runs them: plain node, no loader. autoloop's bin runs
 * the compiled dist/ (AUTOLOOP_FROM_SOURCE=0; `npm run build` first) on the
 * demo config's two loops, written to a temp dir with the prices loop as
 * plain JavaScript (bench/support/demo-prices.mjs: on Node 20 the demo's .ts
 * module would load tsx into the process); fastify's server is a plain .mjs.
 * Only loopback traffic. Every child is stopped at the end (SIGTERM, then
 * SIGKILL) and the temp dir removed (the config logs into it).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import autocannon, { type Result } from 'autocannon';
import { PROJECT_ROOT } from '../test/support/guarantees-children.ts';
import { fmt, heading, line, median } from './report.ts';
import { memoryKiB, type ServerProcess, spawnServer, spawnToOk, stopServer } from './support/servers.ts';

const READY_RUNS = 3;
const IDLE_MS = 10_000;
const CONNECTIONS = 200;
const DURATION_S = 5;
const WARMUP_S = 2;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function version(pkg: string): string {
  const file = join(PROJECT_ROOT, 'node_modules', pkg, 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** The warm-up: every target in turn, before any is measured (the servers' request paths and autocannon's own). */
async function warm(urls: readonly string[]): Promise<void> {
  for (const url of urls) await autocannon({ url, connections: CONNECTIONS, duration: WARMUP_S });
}

async function load(url: string): Promise<Result> {
  return autocannon({ url, connections: CONNECTIONS, duration: DURATION_S });
}

const mib = (kib: number) => kib / 1024;

/** The demo config (autoloop.yaml) with absolute module and command paths and the prices loop in plain JavaScript. */
function demoConfig(): string {
  const prices = join(PROJECT_ROOT, 'bench', 'support', 'demo-prices.mjs');
  const disk = join(PROJECT_ROOT, 'examples', 'demo', 'bin', 'disk-usage.mjs');
  return `http: { host: 127.0.0.1, port: 0 }
shutdown: { grace: 30s }
retention: 7d
loops:
  prices:
    trigger: { cron: "*/10 * * * * *", timezone: UTC, overlap: skip }
    observe: ${prices}#observe
    plan: ${prices}#plan
    act: ${prices}#act
    policies: { timeout: 5s, retry: { attempts: 2, backoff: 500ms, maxBackoff: 2s }, concurrency: 10 }
  disk:
    trigger: { interval: 15s }
    items: ["."]
    act: { command: "node ${disk}", timeout: 10s }
`;
}

export async function benchHttpFootprint(): Promise<Record<string, number>> {
  heading(
    `HTTP footprint: \`autoloop start --foreground\`, demo config (2 loops, SQLite), beside bare fastify ${version('fastify')} + prom-client ${version('prom-client')} (default metrics); loopback`,
  );
  if (!existsSync(join(PROJECT_ROOT, 'dist', 'cli', 'main.js')))
    throw new Error('bench http footprint: no dist/; run `npm run build` first');
  const dir = mkdtempSync(join(tmpdir(), 'autoloop-bench-http-'));
  const config = join(dir, 'autoloop.yaml');
  writeFileSync(config, demoConfig());
  const servers: ServerProcess[] = [];
  const stops: Array<'exited' | 'SIGTERM' | 'SIGKILL'> = [];
  let runs = 0;
  const startAutoloop = () => {
    const sub = join(dir, `run-${runs++}`);
    mkdirSync(sub);
    const args = [join(PROJECT_ROOT, 'bin', 'autoloop.js'), 'start', '--foreground', '--config', config];
    const server = spawnServer('autoloop', [...args, '--store', `sqlite://${sub}/s.db`, '--port', '0'], dir, {
      AUTOLOOP_FROM_SOURCE: '0',
    });
    servers.push(server);
    return server;
  };
  const startFastify = () => {
    const server = spawnServer('fastify', ['bench/support/fastify-health.mjs'], PROJECT_ROOT);
    servers.push(server);
    return server;
  };
  try {
    // 1. Spawn to ready, one process at a time (nothing else running), alternating.
    const autoloopReady: number[] = [];
    const fastifyReady: number[] = [];
    for (let i = 0; i < READY_RUNS; i++) {
      const a = startAutoloop();
      autoloopReady.push((await spawnToOk(a, '/health/ready')).readyMs);
      stops.push(await stopServer(a));
      const f = startFastify();
      fastifyReady.push((await spawnToOk(f, '/health')).readyMs);
      stops.push(await stopServer(f));
    }

    // 2. Both idle at the same time; each one's RSS read 10 s after it answered ready.
    const a = startAutoloop();
    const f = startFastify();
    const idle = async (server: ServerProcess, path: string) => {
      const { url } = await spawnToOk(server, path);
      await sleep(IDLE_MS);
      return { url, memory: memoryKiB(server.pid) };
    };
    const [aIdle, fIdle] = await Promise.all([idle(a, '/health/ready'), idle(f, '/health')]);

    // 3. /health under load, one target at a time, after every target was warmed.
    await warm([`${aIdle.url}/health/live`, `${aIdle.url}/health`, `${fIdle.url}/health`]);
    const live = await load(`${aIdle.url}/health/live`);
    const full = await load(`${aIdle.url}/health`);
    const bare = await load(`${fIdle.url}/health`);
    const aAfter = memoryKiB(a.pid);
    const fAfter = memoryKiB(f.pid);

    const result = {
      autoloopReadyMedianMs: median(autoloopReady),
      fastifyReadyMedianMs: median(fastifyReady),
      autoloopIdleRssMiB: mib(aIdle.memory.rss),
      fastifyIdleRssMiB: mib(fIdle.memory.rss),
      autoloopPeakRssMiB: mib(aAfter.peak),
      fastifyPeakRssMiB: mib(fAfter.peak),
      liveP50Ms: live.latency.p50,
      liveP99Ms: live.latency.p99,
      liveRequestsPerS: live.requests.average,
      healthP50Ms: full.latency.p50,
      healthP99Ms: full.latency.p99,
      healthRequestsPerS: full.requests.average,
      fastifyP50Ms: bare.latency.p50,
      fastifyP99Ms: bare.latency.p99,
      fastifyRequestsPerS: bare.requests.average,
    };
    const runsOf = (values: number[]) => values.map((v) => fmt(v)).join(', ');
    line(
      `spawn to ready (median of ${READY_RUNS})   autoloop /health/ready ${fmt(result.autoloopReadyMedianMs)} ms (${runsOf(autoloopReady)})   fastify /health ${fmt(result.fastifyReadyMedianMs)} ms (${runsOf(fastifyReady)})   ratio ${fmt(result.autoloopReadyMedianMs / result.fastifyReadyMedianMs, 2)}`,
    );
    line(
      `RSS ${IDLE_MS / 1000} s after ready, idle      autoloop ${fmt(result.autoloopIdleRssMiB, 1)} MiB   fastify ${fmt(result.fastifyIdleRssMiB, 1)} MiB   ratio ${fmt(result.autoloopIdleRssMiB / result.fastifyIdleRssMiB, 2)}`,
    );
    line(
      `RSS peak, after the load runs   autoloop ${fmt(result.autoloopPeakRssMiB, 1)} MiB   fastify ${fmt(result.fastifyPeakRssMiB, 1)} MiB   ratio ${fmt(result.autoloopPeakRssMiB / result.fastifyPeakRssMiB, 2)}`,
    );
    line(
      `${CONNECTIONS} connections, ${DURATION_S} s each after every target's ${WARMUP_S} s warm-up, the same for all (autocannon ${version('autocannon')}):`,
    );
    line('  target                   req/s      p50 ms   p99 ms   non-2xx   errors');
    const row = (name: string, r: Result) =>
      line(
        `  ${name.padEnd(22)} ${fmt(r.requests.average).padStart(7)}   ${fmt(r.latency.p50, 1).padStart(7)}  ${fmt(r.latency.p99, 1).padStart(7)}   ${String(r.non2xx).padStart(7)}   ${r.errors + r.timeouts}`,
      );
    row('autoloop /health/live', live);
    row('autoloop /health', full);
    row('fastify /health', bare);
    for (const [name, r] of [
      ['/health/live', live],
      ['/health', full],
    ] as const) {
      line(
        `autoloop ${name.padEnd(12)} / fastify /health:  req/s ${fmt(r.requests.average / bare.requests.average, 2)}   p50 ${fmt(r.latency.p50 / bare.latency.p50, 2)}   p99 ${fmt(r.latency.p99 / bare.latency.p99, 2)}`,
      );
    }
    stops.push(...(await Promise.all([stopServer(a), stopServer(f)])));
    const by = (how: string) => stops.filter((s) => s === how).length;
    line(
      `children stopped: ${by('SIGTERM')} by SIGTERM, ${by('SIGKILL')} by SIGKILL after 5 s, ${by('exited')} already exited`,
    );
    return result;
  } finally {
    await Promise.all(servers.map((s) => stopServer(s)));
    rmSync(dir, { recursive: true, force: true });
  }
}

// `node --import tsx bench/http-footprint.ts` runs it alone; bench/run.ts imports it.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await benchHttpFootprint();
