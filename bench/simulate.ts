/**
 * `autoloop simulate` speed: the demo config (autoloop.yaml: a 10 s cron
 * fanning 20 items, a 15 s interval command loop) with chaos-light and 3
 * instances on the memory store, as a speed-up over real time, with the
 * process's peak RSS. The goal is 30 simulated days in <= 65 s
 * (>= 40,000x). By default the section simulates `AUTOLOOP_SIM_DAYS` days
 * (default 1) and reports the speed-up, from which the 30-day wall time is
 * extrapolated; `AUTOLOOP_SIM_DAYS=30 npm run bench -- --only=simulate`
 * runs the whole month. On a shared machine the wall time measures the
 * machine's load as much as the code, so the section also gives the
 * speed-up per CPU second (simulated time / CPU time of this process) and
 * the load average before and after. `AUTOLOOP_SIM_SKIP=0` runs every
 * recovery tick and store probe, for an A/B of skipping the idle ones.
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load-config.ts';
import { FAULT_PRESETS } from '../src/simulation/fault-plan.ts';
import { simulate } from '../src/simulation/simulation.ts';
import { fmt, heading, line, now } from './report.ts';

const CONFIG = fileURLToPath(new URL('../autoloop.yaml', import.meta.url));
const DAY = 86_400_000;

export async function benchSimulate(): Promise<Record<string, number>> {
  heading('simulate: the demo config, chaos-light, 3 instances, memory store');
  const days = Number(process.env.AUTOLOOP_SIM_DAYS ?? 1);
  // AUTOLOOP_SIM_SKIP=0 runs every recovery tick and store probe (an A/B of the skipping; same report).
  const skipIdleTicks = process.env.AUTOLOOP_SIM_SKIP !== '0';
  const config = await loadConfig(CONFIG, { env: process.env });
  const faults = { name: 'chaos-light', faults: FAULT_PRESETS['chaos-light'] ?? [] };
  const load0 = loadavg()[0] as number;
  const cpu0 = process.cpuUsage();
  const started = now();
  const { report, timersFired, ticksSkipped } = await simulate({
    config,
    durationMs: days * DAY,
    instances: 3,
    seed: 1,
    faults,
    skipIdleTicks,
  });
  const wallMs = now() - started;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const speedup = (days * DAY) / wallMs;
  const cpuSpeedup = (days * DAY) / cpuMs;
  const load1 = loadavg()[0] as number;
  const rssMb = process.resourceUsage().maxRSS / 1024;
  const items = report.total.items;
  line(
    `simulated ${days} day(s) in ${fmt(wallMs / 1000, 1)} s wall, ${fmt(cpuMs / 1000, 1)} s CPU: ${fmt(speedup)}x real time (goal 40,000x)`,
  );
  line(
    `30 days at this speed: ${fmt((30 * DAY) / speedup / 1000)} s wall (goal <= 65 s); on CPU time alone ${fmt((cpuMs * 30) / days / 1000)} s`,
  );
  line(`per CPU second: ${fmt(cpuSpeedup)}x real time; load average ${fmt(load0, 1)} before, ${fmt(load1, 1)} after`);
  line(
    `${fmt(timersFired)} timers fired, ${fmt(ticksSkipped)} idle recovery ticks and store probes skipped, ${fmt(items.planned)} items planned, peak RSS ${fmt(rssMb)} MiB`,
  );
  line(
    `report: lost ${items.lost}, duplicates ${items.duplicates}, re-runs ${items.reRuns}, ticks run ${report.total.ticks.run}/${report.total.ticks.due}, takeover p99 ${report.takeover.ms.p99} ms`,
  );
  return {
    days,
    wallMs,
    cpuMs,
    speedup,
    cpuSpeedup,
    rssMb,
    timersFired,
    ticksSkipped,
    items: items.planned,
    load0,
    load1,
  };
}
