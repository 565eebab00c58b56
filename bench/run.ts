/**
 * `npm run bench`: every benchmark in one run, printed as figures and ratios
 * to the baseline named by the issue. Speed figures are reported, never
 * asserted: they depend on the machine.
 */
import { arch, cpus, totalmem } from 'node:os';
import { benchAdaptive } from './adaptive.ts';
import { benchFanout } from './fanout.ts';
import { benchHttpFootprint } from './http-footprint.ts';
import { benchLeaseThroughput } from './lease-throughput.ts';
import { benchPoolOverhead } from './pool-overhead.ts';
import { line } from './report.ts';
import { benchSqliteThroughput } from './sqlite-throughput.ts';
import { benchTakeover } from './takeover.ts';

line(
  `autoloop benchmarks: node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? arch()}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
);
const results = {
  poolOverhead: await benchPoolOverhead(),
  sqliteThroughput: await benchSqliteThroughput(),
  fanout: await benchFanout(),
  leaseThroughput: await benchLeaseThroughput(),
  adaptive: await benchAdaptive(),
  takeover: await benchTakeover(),
  httpFootprint: await benchHttpFootprint(),
};
if (process.argv.includes('--json')) line(JSON.stringify(results, null, 2));
