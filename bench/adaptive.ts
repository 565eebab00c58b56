/**
 * Adaptive concurrency against a dependency whose latency grows with our
 * own load, in real time over real HTTP: a local server answering in
 * base * max(1, inflight / 8) ms (test/support/latency-server.ts), called
 * by one loop through the whole engine (runtime, cycle, pool, governor).
 *
 * - adaptive: `concurrency: 32, adaptive: { min: 3, window: 10 }` for 20 s,
 *   base 100 ms, stepped x4 (400 ms) at 10 s. Printed every second: the
 *   limit, the p99 of the requests finished in that second, requests/s.
 * - baseline: a fixed concurrency of 32 on the same server for 5 s (base
 *   100 ms): every call queues behind 31 others, latency = 4 x base.
 *
 * p99s are measured at the server (arrival to answer), as ratios to the base
 * in force. Figures are reported, not asserted; test/adaptive-http.test.ts
 * asserts the bounds.
 */
import { pathToFileURL } from 'node:url';
import { defineLoop } from '../src/config/define-loop.ts';
import { createRuntime } from '../src/runtime/runtime.ts';
import { type ServedRequest, startLatencyServer } from '../test/support/latency-server.ts';
import { fmt, heading, line, median, now, percentile } from './report.ts';

const BASE_MS = 100;
const KNEE = 8;
const DURATION_MS = 20_000;
const STEP_AT_MS = 10_000;
const FIXED_MS = 5_000;

interface Workload {
  /** performance.now() when the cycle started. */
  t0: number;
  /** The pool limit sampled every 100 ms (ms since t0). */
  samples: Array<{ at: number; limit: number }>;
  /** The controller's limit changes (ms since t0), with their decision window's p50. */
  changes: Array<{ at: number; previous: number; limit: number; p50: number }>;
  /** Requests the server answered 200, with `at` = arrival ms since t0. */
  requests: Array<ServedRequest & { at: number; endAt: number }>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs one loop against a fresh latency server for `durationMs`, stepping its base x4 at `stepAtMs` if given. */
async function runWorkload(
  policies: { concurrency: number; adaptive?: { min: number; window: number } },
  durationMs: number,
  stepAtMs?: number,
): Promise<Workload> {
  const server = await startLatencyServer({ base: BASE_MS, knee: KNEE });
  let stop = false;
  const loop = defineLoop({
    name: 'bench-adaptive',
    trigger: { manual: true },
    observe: () => Array.from({ length: Math.ceil((durationMs / 1000) * 200) }, (_, i) => `k${i}`),
    act: async (_item, { signal }) => {
      if (stop) return null; // over: the rest of the cycle drains at once
      const res = await fetch(server.url, { signal });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return null;
    },
    policies: { ...policies, uses: [], timeout: '30s' },
  });
  const runtime = createRuntime({ loops: [loop] });
  const changes: Workload['changes'] = [];
  let t0 = now();
  runtime
    .governor('bench-adaptive')
    .adaptive?.onLimitChange(({ previous, limit, window }) =>
      changes.push({ at: now() - t0, previous, limit, p50: window.p50 }),
    );
  await runtime.start({ schedule: false });
  const pool = runtime.loop('bench-adaptive').pool;
  const samples: Workload['samples'] = [];
  t0 = now();
  const sampler = setInterval(() => samples.push({ at: now() - t0, limit: pool.concurrency }), 100);
  const cycle = runtime.run('bench-adaptive');
  try {
    if (stepAtMs !== undefined) {
      await sleep(stepAtMs);
      server.set({ base: BASE_MS * 4 });
      await sleep(durationMs - stepAtMs);
    } else await sleep(durationMs);
  } finally {
    stop = true;
    clearInterval(sampler);
  }
  const end = now() - t0;
  await cycle;
  await runtime.stop();
  const requests = server
    .log()
    .filter((r) => r.status === 200)
    .map((r) => ({ ...r, at: r.arrivedAt - t0, endAt: r.arrivedAt - t0 + r.latencyMs }))
    .filter((r) => r.at >= 0 && r.endAt <= end);
  await server.close();
  return { t0, samples, changes: changes.filter((c) => c.at <= end), requests };
}

const latencies = (requests: Workload['requests']) => requests.map((r) => r.latencyMs);

export async function benchAdaptive(): Promise<Record<string, number>> {
  heading(
    `adaptive concurrency over real HTTP: latency = base * max(1, inflight / ${KNEE}), base ${BASE_MS} ms, x4 at ${STEP_AT_MS / 1000} s; concurrency 32, adaptive { min: 3, window: 10 }`,
  );
  const run = await runWorkload({ concurrency: 32, adaptive: { min: 3, window: 10 } }, DURATION_MS, STEP_AT_MS);
  line('  second   limit (min..max, at end)   p99 ms (x base)   req/s');
  for (let s = 0; s < DURATION_MS / 1000; s++) {
    const from = s * 1000;
    const to = from + 1000;
    const limits = run.samples.filter((x) => x.at >= from && x.at < to).map((x) => x.limit);
    const done = run.requests.filter((r) => r.endAt >= from && r.endAt < to);
    const base = from >= STEP_AT_MS ? BASE_MS * 4 : BASE_MS;
    const p99 = done.length > 0 ? percentile(latencies(done), 99) : Number.NaN;
    const range = limits.length > 0 ? `${Math.min(...limits)}..${Math.max(...limits)}, ${limits.at(-1)}` : '-';
    line(
      `  ${String(s).padStart(3)}-${String(s + 1).padEnd(3)}  ${range.padEnd(25)}  ${fmt(p99).padStart(6)} (${fmt(p99 / base, 2)})     ${done.length}`,
    );
  }
  const half = STEP_AT_MS / 2;
  const before = run.requests.filter((r) => r.at >= half && r.endAt < STEP_AT_MS);
  const after = run.requests.filter((r) => r.at >= DURATION_MS - half);
  const medianLimitBeforeStep = median(
    run.samples.filter((x) => x.at >= half && x.at < STEP_AT_MS).map((x) => x.limit),
  );
  const medianLimitAfterStep = median(run.samples.filter((x) => x.at >= DURATION_MS - half).map((x) => x.limit));
  // The reaction to the step: the first decrease decided on post-step latencies (window p50 >= 2 x the old
  // base), not a sawtooth decrease that happened to fall just after it.
  const lowered = run.changes.find((c) => c.at > STEP_AT_MS && c.limit < c.previous && c.p50 >= 2 * BASE_MS);
  const result = {
    medianLimitBeforeStep,
    lowerAfterStepMs: lowered ? lowered.at - STEP_AT_MS : Number.NaN,
    p99BeforeRatio: percentile(latencies(before), 99) / BASE_MS,
    p99AfterRatio: percentile(latencies(after), 99) / (BASE_MS * 4),
    medianLimitAfterStep,
    requestsPerSBefore: before.length / ((STEP_AT_MS - half) / 1000),
    fixed32P99Ratio: 0,
    fixed32RequestsPerS: 0,
  };
  line(
    `median limit ${half / 1000}-${STEP_AT_MS / 1000} s          ${fmt(result.medianLimitBeforeStep, 1)} (knee ${KNEE})`,
  );
  line(
    `limit lowered after the step  ${fmt(result.lowerAfterStepMs)} ms (${lowered?.previous} -> ${lowered?.limit}, window p50 ${fmt(lowered?.p50 ?? Number.NaN)} ms)`,
  );
  line(
    `p99 / base ${half / 1000}-${STEP_AT_MS / 1000} s           ${fmt(result.p99BeforeRatio, 2)} (${before.length} requests, ${fmt(result.requestsPerSBefore, 1)} req/s)`,
  );
  line(
    `p99 / base ${(DURATION_MS - half) / 1000}-${DURATION_MS / 1000} s          ${fmt(result.p99AfterRatio, 2)} (base ${BASE_MS * 4} ms; median limit ${fmt(result.medianLimitAfterStep, 1)})`,
  );

  heading(`baseline: fixed concurrency 32, same server, ${FIXED_MS / 1000} s, base ${BASE_MS} ms`);
  const fixed = await runWorkload({ concurrency: 32 }, FIXED_MS);
  const steadyFixed = fixed.requests.filter((r) => r.at >= 1_000);
  result.fixed32P99Ratio = percentile(latencies(steadyFixed), 99) / BASE_MS;
  result.fixed32RequestsPerS = steadyFixed.length / ((FIXED_MS - 1_000) / 1000);
  line(
    `p99 / base (1-${FIXED_MS / 1000} s)         ${fmt(result.fixed32P99Ratio, 2)} (${fmt(result.fixed32RequestsPerS, 1)} req/s, max inflight ${Math.max(...steadyFixed.map((r) => r.inflight))})`,
  );
  line(
    `adaptive p99 is ${fmt(result.fixed32P99Ratio / result.p99BeforeRatio, 2)}x lower than fixed 32, at ${fmt(result.requestsPerSBefore / result.fixed32RequestsPerS, 2)}x its throughput`,
  );
  return result;
}

// `node --import tsx bench/adaptive.ts` runs it alone; bench/run.ts imports it.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await benchAdaptive();
