/**
 * The decide recipe (seed 001) against the seed's promised figures:
 *
 * (d1) analysis: read the seed's coordination directory of 1,000 files
 *      (250 each of agent_, work_, completed_, telemetry_) and score it.
 *      Seed: < 100 ms.
 * (d2) decision generation: 25 degraded targets with a 5-sample window,
 *      each proposing scale_up and coordination_improve (50), ranked and
 *      deduplicated. Seed: < 200 ms.
 * (d3) a full cycle in a runtime (SQLite store): sense the `work` loop and
 *      the 1,000-file directory, score, decide, execute a scale-up, journal.
 *      Seed: < 5 s. Wall and CPU time (CPU is the figure to trust on a loaded
 *      machine); then the same with tracing on, every span kept by an
 *      in-memory exporter (the recipe's four spans beside the cycle's own),
 *      for what tracing costs, and what the memory kept in the store costs
 *      (one document written per cycle).
 * (d4) RSS added by the recipe: a runtime with the `work` loop alone vs the
 *      same with the decide loop beside it, each in its own process after
 *      10 cycles and a full GC. Seed: ~50 MB.
 *
 * Medians of repeated runs; each line prints the seed's figure beside ours.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { readCoordination } from '../src/recipes/decide/coordination-sensor.ts';
import { generateDecisions, type Sample, SEED_RULES } from '../src/recipes/decide/decision-rules.ts';
import { healthScore } from '../src/recipes/decide/health-score.ts';
import { decide } from '../src/recipes/decide/recipe.ts';
import { recipeLoops } from '../src/recipes/recipe.ts';
import { createRuntime } from '../src/runtime/runtime.ts';
import { fmt, heading, line, median, now } from './report.ts';

const RSS_CHILD = fileURLToPath(new URL('./decide-rss.ts', import.meta.url));

export async function benchDecide(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'autoloop-bench-decide-'));
  try {
    const coordination = join(dir, 'coordination');
    writeCoordination(coordination, 1_000);
    return {
      analysis: await analysis(coordination),
      generation: generation(),
      cycle: await cycle(coordination, dir, false),
      cycleTraced: await cycle(coordination, dir, true),
      rss: rss(coordination, dir),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The seed's directory: `files` JSON files, a quarter of each kind, one of them malformed. */
function writeCoordination(dir: string, files: number): void {
  mkdirSync(dir, { recursive: true });
  const kinds = ['agent', 'work', 'completed', 'telemetry'] as const;
  for (let i = 0; i < files; i++) {
    const kind = kinds[i % 4] as (typeof kinds)[number];
    const body =
      kind === 'agent'
        ? { id: `a${i}`, status: i % 8 === 0 ? 'idle' : 'active' }
        : kind === 'telemetry'
          ? [{ span: i }, { span: i + 1 }]
          : { task: i, payload: 'x'.repeat(200) };
    writeFileSync(join(dir, `${kind}_${i}.json`), i === 3 ? '{"span": ' : JSON.stringify(body));
  }
}

async function analysis(coordination: string): Promise<Record<string, number>> {
  heading('(d1) analysis: 1,000 coordination files read and scored (seed: < 100 ms)');
  const times: number[] = [];
  let score = 0;
  for (let i = 0; i < 15; i++) {
    const t = now();
    const r = await readCoordination(coordination);
    score = healthScore(r.readings, SEED_RULES);
    times.push(now() - t);
  }
  const ms = median(times.slice(3));
  line(
    `median ${fmt(ms, 1)} ms (max ${fmt(Math.max(...times.slice(3)), 1)} ms) over 12 runs after 3 warm-ups; score ${score}`,
  );
  return { medianMs: ms, maxMs: Math.max(...times.slice(3)) };
}

function generation(): Record<string, number> {
  heading('(d2) decision generation: 50 candidate decisions (seed: < 200 ms)');
  const windows = new Map<string, Sample[]>();
  for (let t = 0; t < 25; t++) {
    const readings = { completionRate: 0.7, activeAgents: 3, workQueueSize: 15, telemetryVolume: 10 };
    const score = healthScore(readings, SEED_RULES);
    windows.set(
      `loop${t}`,
      Array.from({ length: 5 }, (_, i) => ({ at: i, readings, score })),
    );
  }
  let candidates = 0;
  const times: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t = now();
    candidates = generateDecisions(windows, {
      ...SEED_RULES,
      thresholds: { ...SEED_RULES.thresholds, degraded: 0.7 },
    }).length;
    times.push(now() - t);
  }
  const ms = median(times.slice(5));
  line(`median ${fmt(ms, 3)} ms over 45 runs; ${candidates} decisions ranked`);
  return { medianMs: ms, candidates };
}

async function cycle(coordination: string, dir: string, traced: boolean): Promise<Record<string, number>> {
  heading(
    `(d3${traced ? "'" : ''}) a full decide cycle in a runtime, SQLite store, 1,000 files + one loop, tracing ${traced ? 'on' : 'off'} (seed: < 5 s)`,
  );
  const exporter = traced ? new InMemorySpanExporter() : undefined;
  const runtime = createRuntime({
    loops: [
      {
        name: 'work',
        trigger: { manual: true },
        plan: () => [{ key: 'a' }, { key: 'b' }, { key: 'c' }],
        act: () => {
          throw new Error('down');
        },
        policies: { concurrency: 1, retry: { attempts: 1 } },
      },
      ...recipeLoops(decide, 'autopilot', {
        targets: ['work'],
        sources: { coordination },
        verify: false,
        minInterval: 0,
      }),
    ],
    store: `sqlite://${join(dir, traced ? 'cycle-traced.db' : 'cycle.db')}`,
    http: false,
    ...(exporter && {
      observability: { tracing: { enabled: true, serviceName: 'bench' }, traceExporter: exporter, env: {} },
    }),
  });
  await runtime.start({ schedule: false });
  const times: number[] = [];
  const cpu: number[] = [];
  let spans = 0;
  try {
    await runtime.run('work');
    for (let i = 0; i < 7; i++) {
      const t = now();
      const c = process.cpuUsage();
      await runtime.run('autopilot');
      times.push(now() - t);
      const used = process.cpuUsage(c);
      cpu.push((used.user + used.system) / 1000);
    }
    // Counted before the stop: shutting the exporter down empties it.
    spans = exporter?.getFinishedSpans().length ?? 0;
  } finally {
    await runtime.stop({ graceMs: 1_000 });
  }
  const ms = median(times.slice(1));
  const cpuMs = median(cpu.slice(1));
  line(
    `median ${fmt(ms, 1)} ms wall, ${fmt(cpuMs, 1)} ms CPU (first ${fmt(times[0] ?? 0, 1)} ms, max ${fmt(Math.max(...times), 1)} ms) over 6 cycles after one warm-up${exporter ? `; ${spans} spans exported` : ''}`,
  );
  return { medianMs: ms, cpuMs, firstMs: times[0] ?? 0, spans };
}

function rss(coordination: string, dir: string): Record<string, number> {
  heading('(d4) RSS added by the decide recipe (seed: ~50 MB)');
  const measure = (mode: 'base' | 'decide'): number => {
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', RSS_CHILD, mode, coordination, dir], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`decide-rss ${mode} exited ${r.status}: ${r.stderr}`);
    return (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { rss: number }).rss;
  };
  const base: number[] = [];
  const withDecide: number[] = [];
  for (let i = 0; i < 3; i++) {
    base.push(measure('base'));
    withDecide.push(measure('decide'));
  }
  const added = median(withDecide) - median(base);
  line(
    `runtime alone ${fmt(median(base) / 2 ** 20, 1)} MiB, with decide ${fmt(median(withDecide) / 2 ** 20, 1)} MiB: added ${fmt(added / 2 ** 20, 1)} MiB (medians of 3 processes each)`,
  );
  return { baseBytes: median(base), decideBytes: median(withDecide), addedBytes: added };
}
