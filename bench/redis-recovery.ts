/**
 * Crash-to-rerun on one redis-server: a real child process holds one item
 * in a long act and is SIGKILLed; a peer process re-runs it. The figure is
 * the peer's act start minus the kill time (both Date.now(), the clock every
 * process on the machine shares). Trials of one variant run side by side,
 * each on its own key prefix (autoloop) or queue (BullMQ).
 *
 * autoloop (bench/support/redis-crash-child.ts): a peer runtime starts
 * first (its recovery loop ticks every 1 s, the default); the victim starts
 * a stratified random 0-1 s later so the kills fall at every phase of that
 * tick, runs one cycle of one item, and is killed the moment its act starts
 * (it has just taken the item's lease: a full TTL is left, autoloop's worst
 * case). The peer adopts the item once the victim's queue claim and lease
 * have expired.
 *
 * BullMQ: a victim Worker at every default (lockDuration 30 s,
 * stalledInterval 30 s, maxStalledCount 1) takes the one job; then a peer
 * Worker at its defaults starts; the victim is killed a stratified random
 * 0-30 s after the peer is ready, so the kills fall at every phase of the
 * peer's 30 s stalled check. BullMQ needs two checks after the kill (the
 * first marks the active job as a stall candidate, the next moves it back to
 * wait once its lock has expired), and one check runs per stalledInterval
 * across all workers of a queue (a `stalled-check` key), so its figure lies
 * between 30 and 60 s by design, sometimes one interval more.
 */
import { Queue } from 'bullmq';
import { fmt, line, median, seeded } from './report.ts';
import { bullmqConnection } from './support/redis-connection.ts';
import {
  type CrashChild,
  type CrashChildSpec,
  killCrashChildren,
  startCrashChild,
} from './support/redis-crash-children.ts';

/** autoloop's default recovery interval (RuntimeOptions.recoveryIntervalMs). */
const AUTOLOOP_RECOVERY_MS = 1_000;
/** BullMQ's default stalledInterval (WorkerOptions), read from bullmq 6.7.0's Worker. */
const BULLMQ_STALLED_INTERVAL_MS = 30_000;
/** A child process starting under a machine loaded by others (load 20+ on 2 cores) took over 30 s to be ready. */
const START_TIMEOUT_MS = 60_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One variant's trials: kill -> the peer's act start, ms (NaN for a trial whose item was never re-run). */
export interface RecoveryFigures {
  readonly label: string;
  readonly trials: number;
  readonly rerunMs: number[];
}

/** The re-run times that happened, for the medians. */
const completed = (f: RecoveryFigures) => f.rerunMs.filter((ms) => !Number.isNaN(ms));

/** `trials` autoloop trials side by side, at the default lease TTL or `leaseTtlMs`. */
export async function autoloopRecovery(
  url: string,
  runId: string,
  trials: number,
  leaseTtlMs?: number,
): Promise<RecoveryFigures> {
  const ttl = leaseTtlMs ?? 10_000;
  const phase = seeded(ttl);
  const label = `autoloop, lease TTL ${fmt(ttl / 1000)} s${leaseTtlMs ? ' (configured)' : ' (default)'}`;
  const rerunMs = await Promise.all(
    Array.from({ length: trials }, async (_, i) => {
      const children: CrashChild[] = [];
      const base = { system: 'autoloop', url, namespace: `${runId}:crash-ttl${ttl}-${i}:`, leaseTtlMs } as const;
      try {
        const peer = startCrashChild({ ...base, role: 'peer' }, children);
        await peer.waitFor('ready', START_TIMEOUT_MS);
        await sleep(((i + phase()) / trials) * AUTOLOOP_RECOVERY_MS);
        const victim = startCrashChild({ ...base, role: 'victim' }, children);
        return await killAndWait(victim, peer, ttl + AUTOLOOP_RECOVERY_MS + 20_000);
      } finally {
        await killCrashChildren(children);
      }
    }),
  );
  return { label, trials, rerunMs };
}

/** `trials` BullMQ trials side by side, every Worker option at its default. */
export async function bullmqRecovery(url: string, runId: string, trials: number): Promise<RecoveryFigures> {
  const phase = seeded(30);
  const rerunMs = await Promise.all(
    Array.from({ length: trials }, async (_, i) => {
      const children: CrashChild[] = [];
      const base: Omit<CrashChildSpec, 'role'> = { system: 'bullmq', url, namespace: `${runId}-crash-${i}` };
      const queue = new Queue(base.namespace, { connection: bullmqConnection(url) });
      try {
        const victim = startCrashChild({ ...base, role: 'victim' }, children);
        await victim.waitFor('ready', START_TIMEOUT_MS);
        await queue.add('crash', { key: 'k0' });
        await victim.waitFor('act.start', START_TIMEOUT_MS);
        const peer = startCrashChild({ ...base, role: 'peer' }, children);
        await peer.waitFor('ready', START_TIMEOUT_MS);
        await sleep(((i + phase()) / trials) * BULLMQ_STALLED_INTERVAL_MS);
        return await killAndWait(victim, peer, 4 * BULLMQ_STALLED_INTERVAL_MS);
      } finally {
        await killCrashChildren(children);
        await queue.close();
      }
    }),
  );
  return { label: 'BullMQ 6.7.0, defaults (lockDuration 30 s, stalledInterval 30 s)', trials, rerunMs };
}

/** Waits until the victim's act runs, SIGKILLs it, and returns kill -> the peer's act start (NaN past `waitMs`). */
async function killAndWait(victim: CrashChild, peer: CrashChild, waitMs: number): Promise<number> {
  await victim.waitFor('act.start', START_TIMEOUT_MS);
  const killedAt = Date.now();
  victim.process.kill('SIGKILL');
  try {
    const rerun = await peer.waitFor('act.start', waitMs);
    return rerun.t - killedAt;
  } catch {
    return Number.NaN;
  }
}

/** Prints one variant's line: count, min / median / max. */
function printRecovery(f: RecoveryFigures): void {
  const ok = completed(f);
  const missing = f.trials - ok.length;
  const spread = ok.length
    ? `min ${fmt(Math.min(...ok))} ms   median ${fmt(median(ok))} ms   max ${fmt(Math.max(...ok))} ms`
    : 'no trial re-ran its item';
  line(
    `  ${f.label.padEnd(66)} ${spread}   (${ok.length}/${f.trials} trials${missing ? `, ${missing} NOT re-run` : ''})`,
  );
}

/** Runs `trials` of each variant (autoloop at TTL 10 s and 3 s, BullMQ at its defaults) and prints the ratio. */
export async function recoverySection(url: string, runId: string, trials: number): Promise<Record<string, number>> {
  line('');
  line(
    `crash-to-rerun: SIGKILL a process holding one item in a long act; time until a peer process starts re-running it (${trials} trials each, side by side)`,
  );
  const variants: RecoveryFigures[] = [];
  for (const run of [
    () => autoloopRecovery(url, runId, trials),
    () => autoloopRecovery(url, runId, trials, 3_000),
    () => bullmqRecovery(url, runId, trials),
  ]) {
    const figures = await run();
    printRecovery(figures);
    variants.push(figures);
  }
  const [ttl10, ttl3, bull] = variants.map((v) => median(completed(v))) as [number, number, number];
  line(
    `  ratio BullMQ/autoloop, medians: ${fmt(bull / ttl10, 1)}x at the default TTL, ${fmt(bull / ttl3, 1)}x at TTL 3 s   (goal >= 3x)`,
  );
  return {
    recoveryTrials: trials,
    autoloopRerunMedianMs: ttl10,
    autoloopTtl3RerunMedianMs: ttl3,
    bullmqRerunMedianMs: bull,
    recoveryRatio: bull / ttl10,
    recoveryRatioTtl3: bull / ttl3,
  };
}
