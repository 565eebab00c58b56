/**
 * How soon orphaned items start again after a crash, on the simulated
 * clock: the demo config (autoloop.yaml) on 3 instances with nothing but
 * crashes, one every 3 minutes on average (restart after 10-60 s), for
 * `AUTOLOOP_ADOPTION_HOURS` simulated hours (default 4), seeds 1 and 2.
 * Prints the report's takeover times (crash -> the orphan's act starting
 * in another instance), to hold against the lease TTL (10 s) + recovery
 * interval (1 s). Deterministic: the same code gives the same figures on
 * any machine, whatever its load.
 */
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load-config.ts';
import { simulate } from '../src/simulation/simulation.ts';
import { fmt, heading, line } from './report.ts';

const CONFIG = fileURLToPath(new URL('../autoloop.yaml', import.meta.url));

export async function benchAdoption(): Promise<Record<string, number>> {
  heading('adoption: the demo config, a crash every 3 min, 3 instances (simulated)');
  const hours = Number(process.env.AUTOLOOP_ADOPTION_HOURS ?? 4);
  const config = await loadConfig(CONFIG, { env: process.env });
  const faults = {
    name: 'crashes',
    faults: [{ kind: 'crash' as const, every: 3 * 60_000, restartAfter: { minMs: 10_000, maxMs: 60_000 } }],
  };
  const out: Record<string, number> = { hours };
  for (const seed of [1, 2]) {
    const { report } = await simulate({ config, durationMs: hours * 3600_000, instances: 3, seed, faults });
    const { crashes, orphanedItems, ms, notTakenOver } = report.takeover;
    line(
      `seed ${seed}: ${crashes} crashes, ${orphanedItems} items left behind, taken over in p50 ${fmt(ms.p50)} / p99 ${fmt(ms.p99)} / max ${fmt(ms.max)} ms (bound 11,000 ms), ${notTakenOver} never; lost ${report.total.items.lost}, duplicates ${report.total.items.duplicates}`,
    );
    out[`p99Seed${seed}`] = ms.p99;
    out[`maxSeed${seed}`] = ms.max;
  }
  return out;
}
