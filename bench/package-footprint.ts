/**
 * What the package costs before any loop runs, each figure the median of
 * RUNS fresh processes on plain node (no tsx), beside a baseline in the same
 * run:
 *
 * - `import('autoloop')` (the compiled dist/, through the package's own
 *   exports map): wall time of the import and RSS after it, beside importing
 *   hono + croner (the HTTP and cron libraries autoloop is built on) and
 *   beside an empty process;
 * - `autoloop --version` and `autoloop status` with nothing running (a
 *   memory-store config with one loop whose act is an .mjs module), spawn to
 *   exit, beside `node -e 0`; and, in runs of their own, the CPU time
 *   (user + system) each used, which a machine loaded by others changes far
 *   less than the wall time; and `status` once more without a code cache
 *   (NODE_DISABLE_COMPILE_CACHE=1), as a first run finds it.
 *
 * - the compiled engine's CPU per item (support/engine-probe.mjs): the
 *   in-memory line of the SQLite section, run from dist/ instead of src/.
 *
 * Needs dist/ (`npm run build`). The targets: the import within
 * 300 ms and 60 MB RSS; each CLI command within 300 ms wall.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../test/support/guarantees-children.ts';
import { fmt, heading, line, median, now } from './report.ts';

const RUNS = 5;
const run = promisify(execFile);
const PROBE = join(PROJECT_ROOT, 'bench', 'support', 'import-probe.mjs');
const BIN = join(PROJECT_ROOT, 'bin', 'autoloop.js');
const CPU_AT_EXIT = join(PROJECT_ROOT, 'bench', 'support', 'cpu-at-exit.mjs');
const ENGINE_PROBE = join(PROJECT_ROOT, 'bench', 'support', 'engine-probe.mjs');

/** Median CPU per item of the compiled engine (support/engine-probe.mjs), each run a fresh process. */
async function engineCpu(): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 3; i += 1) {
    const { stdout } = await run(process.execPath, [ENGINE_PROBE], { cwd: PROJECT_ROOT });
    samples.push((JSON.parse(stdout) as { cpuUsPerItem: number }).cpuUsPerItem);
  }
  return median(samples);
}

interface Probe {
  ms: number;
  rssMiB: number;
}

async function probe(modules: string[]): Promise<Probe> {
  const samples: Probe[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    const { stdout } = await run(process.execPath, [PROBE, ...modules], { cwd: PROJECT_ROOT });
    samples.push(JSON.parse(stdout) as Probe);
  }
  return { ms: median(samples.map((s) => s.ms)), rssMiB: median(samples.map((s) => s.rssMiB)) };
}

/**
 * Median CPU time (user + system) of `node ...args`, spawn to exit, in runs of
 * their own with a preloaded module that reports it at exit
 * (support/cpu-at-exit.mjs); any exit code counts.
 */
async function cpu(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<number> {
  const file = join(cwd, 'cpu-ms.txt');
  writeFileSync(file, '');
  for (let i = 0; i < RUNS; i += 1) {
    await run(process.execPath, ['--import', pathToFileURL(CPU_AT_EXIT).href, ...args], {
      cwd,
      env: { ...process.env, NODE_OPTIONS: '', AUTOLOOP_FROM_SOURCE: '0', AUTOLOOP_BENCH_CPU_FILE: file, ...env },
    }).catch(() => {});
  }
  const samples = readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
  if (samples.length !== RUNS)
    throw new Error(`bench package footprint: ${samples.length} CPU readings of ${RUNS} runs`);
  return median(samples);
}

/** Median wall time, spawn to exit, of `node ...args`; any exit code counts (status exits 1 when nothing runs). */
async function wall(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    const started = now();
    await run(process.execPath, args, {
      cwd,
      env: { ...process.env, NODE_OPTIONS: '', AUTOLOOP_FROM_SOURCE: '0', ...env },
    }).catch(() => {});
    samples.push(now() - started);
  }
  return median(samples);
}

export async function benchPackageFootprint(): Promise<Record<string, number>> {
  heading(`package footprint: plain node ${process.version}, compiled dist/, median of ${RUNS} fresh processes`);
  if (!existsSync(join(PROJECT_ROOT, 'dist', 'index.js')))
    throw new Error('bench package footprint: no dist/; run `npm run build` first');
  const empty = await probe([]);
  const core = await probe(['autoloop']);
  const base = await probe(['hono', 'croner']);
  line(`import('autoloop')      ${fmt(core.ms)} ms, RSS ${fmt(core.rssMiB, 1)} MiB (target: <= 300 ms, <= 60 MB)`);
  line(
    `import hono + croner    ${fmt(base.ms)} ms, RSS ${fmt(base.rssMiB, 1)} MiB  (autoloop ${fmt(core.ms / base.ms, 2)}x the time)`,
  );
  line(
    `empty process           RSS ${fmt(empty.rssMiB, 1)} MiB  (autoloop adds ${fmt(core.rssMiB - empty.rssMiB, 1)} MiB)`,
  );
  const engineCpuUsPerItem = await engineCpu();
  line(
    `compiled engine         ${fmt(engineCpuUsPerItem, 1)} µs CPU per item (no-op act, concurrency 10, memory store, median of 3)`,
  );

  const dir = mkdtempSync(join(tmpdir(), 'autoloop-bench-pkg-'));
  try {
    writeFileSync(join(dir, 'act.mjs'), 'export const act = () => 1;\n');
    writeFileSync(
      join(dir, 'autoloop.yaml'),
      'store: memory://\nloops:\n  one:\n    trigger: { manual: true }\n    items: [a]\n    act: ./act.mjs#act\n',
    );
    const nodeMs = await wall(['-e', '0'], dir);
    const versionMs = await wall([BIN, '--version'], dir);
    const statusMs = await wall([BIN, 'status'], dir);
    const nodeCpuMs = await cpu(['-e', '0'], dir);
    const versionCpuMs = await cpu([BIN, '--version'], dir);
    const statusCpuMs = await cpu([BIN, 'status'], dir);
    // As a first run finds it: no code cache (Node 22+'s compile cache, or the CLI's own on Node 20).
    const noCache = { NODE_DISABLE_COMPILE_CACHE: '1' };
    const statusColdMs = await wall([BIN, 'status'], dir, noCache);
    const statusColdCpuMs = await cpu([BIN, 'status'], dir, noCache);
    line(`node -e 0               ${fmt(nodeMs)} ms wall, ${fmt(nodeCpuMs)} ms CPU`);
    line(
      `autoloop --version      ${fmt(versionMs)} ms wall (target <= 300 ms), ${fmt(versionCpuMs)} ms CPU (${fmt(versionCpuMs / nodeCpuMs, 2)}x node -e 0)`,
    );
    line(
      `autoloop status (none)  ${fmt(statusMs)} ms wall (target <= 300 ms), ${fmt(statusCpuMs)} ms CPU (${fmt(statusCpuMs / nodeCpuMs, 2)}x node -e 0)`,
    );
    line(
      `  without code cache    ${fmt(statusColdMs)} ms wall, ${fmt(statusColdCpuMs)} ms CPU (NODE_DISABLE_COMPILE_CACHE=1: as a first run)`,
    );
    return {
      engineCpuUsPerItem,
      nodeCpuMs,
      versionCpuMs,
      statusCpuMs,
      statusColdMs,
      statusColdCpuMs,
      importMs: core.ms,
      importRssMiB: core.rssMiB,
      baselineImportMs: base.ms,
      baselineRssMiB: base.rssMiB,
      emptyRssMiB: empty.rssMiB,
      nodeMs,
      versionMs,
      statusMs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
