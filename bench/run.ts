/**
 * `npm run bench`: every benchmark in one run, printed as figures and ratios
 * to the baseline named by the issue. Speed figures are reported, never
 * asserted: they depend on the machine.
 *
 * `npm run bench -- --only=redis` (or `--only=takeover,fanout`) runs only the
 * sections whose name contains one of the words (case-insensitive).
 */
import { arch, cpus, totalmem } from 'node:os';
import { benchAdaptive } from './adaptive.ts';
import { benchAdoption } from './adoption.ts';
import { benchDecide } from './decide.ts';
import { benchFanout } from './fanout.ts';
import { benchHttpFootprint } from './http-footprint.ts';
import { benchLeaseThroughput } from './lease-throughput.ts';
import { benchPackageFootprint } from './package-footprint.ts';
import { benchPoolOverhead } from './pool-overhead.ts';
import { benchReconcile } from './reconcile.ts';
import { benchRedisVsBullmq } from './redis-vs-bullmq.ts';
import { line } from './report.ts';
import { benchSignals } from './signals.ts';
import { benchSimulate } from './simulate.ts';
import { benchSqliteThroughput } from './sqlite-throughput.ts';
import { benchSupervisor } from './supervisor.ts';
import { benchTakeover } from './takeover.ts';

line(
  `autoloop benchmarks: node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? arch()}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
);
const sections: Record<string, () => Promise<unknown>> = {
  poolOverhead: benchPoolOverhead,
  sqliteThroughput: benchSqliteThroughput,
  fanout: benchFanout,
  leaseThroughput: benchLeaseThroughput,
  adaptive: benchAdaptive,
  takeover: benchTakeover,
  packageFootprint: benchPackageFootprint,
  httpFootprint: benchHttpFootprint,
  redisVsBullmq: benchRedisVsBullmq,
  signals: benchSignals,
  supervisor: benchSupervisor,
  simulate: benchSimulate,
  adoption: benchAdoption,
  reconcile: benchReconcile,
  decide: benchDecide,
};
const only = process.argv
  .find((arg) => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',')
  .map((word) => word.trim().toLowerCase())
  .filter((word) => word !== '');
const chosen = Object.keys(sections).filter((name) => !only || only.some((w) => name.toLowerCase().includes(w)));
if (chosen.length === 0) {
  throw new Error(
    `bench --only=${only?.join(',')}: no section matches; expected words from ${Object.keys(sections).join(', ')}`,
  );
}
const results: Record<string, unknown> = {};
for (const name of chosen) results[name] = await sections[name]?.();
if (process.argv.includes('--json')) line(JSON.stringify(results, null, 2));
// A peer's client (pm2's) may leave sockets open after it disconnected: the
// bench ends when its sections have, once stdout is flushed.
process.stdout.write('', () => process.exit(0));
