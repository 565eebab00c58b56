/**
 * `autoloop simulate` skips each instance's recovery ticks and store probes
 * that would do nothing (the simulated clock's period timers). That is only
 * a speed-up if the report does not change: the same config, seed and
 * faults give a byte-identical report with the skipping on and off, under
 * crashes, store outages, freezes and dependency faults.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig, parseConfigText } from '../src/config/load-config.ts';
import { FAULT_PRESETS } from '../src/simulation/fault-plan.ts';
import { formatReport } from '../src/simulation/format-report.ts';
import { type SimulationOptions, simulate } from '../src/simulation/simulation.ts';

const MINUTE = 60_000;

/** Items in flight most of the time, a short lease TTL, two triggers: crashes and freezes leave work to take over. */
const CONFIG = `
store: memory://
leases: { ttl: 8s }
loops:
  poll:
    trigger: { interval: 10s }
    items: [a, b, c]
    act: { command: "false" }
    policies: { retry: { attempts: 2, backoff: 500ms } }
  sweep:
    trigger: { cron: "*/20 * * * * *", timezone: UTC }
    items: [x, y]
    act: { command: "false" }
simulate:
  loops:
    poll: { latency: { min: 3s, max: 6s }, failureRate: 0.02 }
    sweep: { latency: { p50: 2s, p99: 9s }, failureRate: 0.1 }
`;

/** Every kind of fault, often: crashes, store outages, freezes (clock jumps), a degraded dependency. */
const FAULTS = {
  name: 'test',
  faults: [
    { kind: 'crash' as const, every: 8 * MINUTE, restartAfter: { minMs: 5_000, maxMs: 30_000 } },
    { kind: 'store-outage' as const, every: 15 * MINUTE, for: { minMs: 2_000, maxMs: 40_000 } },
    { kind: 'freeze' as const, every: 12 * MINUTE, for: { minMs: 1_000, maxMs: 20_000 } },
    { kind: 'dependency' as const, every: 20 * MINUTE, for: { minMs: MINUTE, maxMs: 3 * MINUTE }, failureRate: 0.5 },
  ],
};

async function both(options: SimulationOptions, minFaults: number): Promise<void> {
  const skipping = await simulate(options);
  const every = await simulate({ ...options, skipIdleTicks: false });
  assert.ok(skipping.report.timeline.length >= minFaults, 'faults happened');
  assert.ok(skipping.report.total.items.succeeded > 0, 'items ran');
  assert.ok(skipping.ticksSkipped > 0, 'some ticks were skipped');
  assert.equal(every.ticksSkipped, 0, 'none skipped when off');
  assert.ok(skipping.timersFired < every.timersFired, 'fewer timers fired');
  assert.equal(formatReport(skipping.report), formatReport(every.report));
  assert.equal(JSON.stringify(skipping.report), JSON.stringify(every.report));
}

describe('simulate: skipping idle recovery ticks and probes', () => {
  for (const seed of [3, 11]) {
    it(`gives the same report, byte for byte, with every tick run (seed ${seed}, every kind of fault)`, async () => {
      const config = await parseConfigText(CONFIG, { env: {}, file: join(process.cwd(), 'autoloop.yaml') });
      await both({ config, durationMs: 90 * MINUTE, instances: 3, seed, faults: FAULTS }, 10);
    });
  }

  it('gives the same report with the demo config (cron fan-out, a command loop) and chaos-heavy', async () => {
    const config = await loadConfig(fileURLToPath(new URL('../autoloop.yaml', import.meta.url)), { env: {} });
    const faults = { name: 'chaos-heavy', faults: FAULT_PRESETS['chaos-heavy'] ?? [] };
    await both({ config, durationMs: 90 * MINUTE, instances: 3, seed: 5, faults }, 1);
  });
});
