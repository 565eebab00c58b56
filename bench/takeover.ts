/**
 * Takeover time after a SIGKILL, over 20 trials. Each trial is two real
 * runtime processes (test/support/runtime-child.ts) on a fresh SQLite file:
 * a victim running one manual cycle of 10 items that block (60 s sleeps),
 * each under an item lease (leaseTtlMs 3000, recoveryIntervalMs 1000), and
 * one idle peer whose recovery loop adopts orphaned items. The victim is
 * SIGKILLed as soon as it holds all 10 leases with all 10 acts running.
 *
 * Takeover time = when the peer starts the re-run of the LAST key, minus the
 * kill time (both Date.now(), the clock every process on the machine shares);
 * its completion (the result the store accepted) is printed too. The bound is
 * TTL + recovery interval: a dead holder's claims and leases expire within
 * one TTL, and the next recovery pass adopts them.
 *
 * Each victim starts a seeded random 0-1 s after its peer is ready, so the
 * kills fall at every phase of the peer's recovery interval.
 *
 * Trials run 4 at a time on separate files, in rounds: the 4 peers start
 * together, then the 4 victims, each killed the moment it holds its leases;
 * the next round starts once every takeover of this one is over, so process
 * start-ups stay out of the expiry and adoption that decide the figure. BullMQ's stalled-job recovery is
 * printed from its documented defaults: it is not installed, not measured.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type Child,
  type ChildLine,
  type ChildSpec,
  killAll,
  sleep,
  startChild,
  stopChild,
} from '../test/support/guarantees-children.ts';
import { fmt, heading, line, median, seeded } from './report.ts';

const TRIALS = 20;
const PARALLEL = 4;
const ITEMS = 10;
const TTL_MS = 3_000;
const RECOVERY_MS = 1_000;
const LOOP = 'takeover';
/** Give up on a trial's re-runs this long after the kill. */
const WAIT_MS = TTL_MS + RECOVERY_MS + 10_000;
/** BullMQ's documented Worker defaults (docs.bullmq.io, WorkerOptions): not measured here. */
const BULLMQ_STALLED_INTERVAL_MS = 30_000;
const BULLMQ_LOCK_DURATION_MS = 30_000;

interface Trial {
  /** Kill -> the peer starting the last key's re-run, ms (NaN when some key was never re-run). */
  lastStartMs: number;
  /** Kill -> the peer's result for the last key accepted by the store, ms (NaN when missing). */
  lastCompleteMs: number;
  /** Kill -> the first key's re-run, ms. */
  firstStartMs: number;
  rerun: number;
}

const of = (lines: ChildLine[], ev: string) => lines.filter((l) => l.ev === ev);
const keysOf = (lines: ChildLine[]) => new Set(lines.map((l) => l.key as string));

/** Per key, the first matching line at or after `from`; the spread over keys as ms since `from`. */
function firstPerKey(lines: ChildLine[], from: number): number[] {
  const first = new Map<string, number>();
  for (const l of lines) {
    const key = l.key as string;
    if (l.t >= from && !first.has(key)) first.set(key, l.t - from);
  }
  return [...first.values()];
}

async function round(dir: string, first: number, count: number, phase: () => number): Promise<Trial[]> {
  const children: Child[] = [];
  try {
    const specs = Array.from(
      { length: count },
      (_, i): Omit<ChildSpec, 'role'> => ({
        db: join(dir, `trial-${first + i}.db`),
        loop: { name: LOOP, trigger: { manual: true }, items: ITEMS, concurrency: ITEMS, timeout: '5m' },
        leaseTtlMs: TTL_MS,
        recoveryIntervalMs: RECOVERY_MS,
      }),
    );
    const peers = specs.map((spec, i) => startChild({ ...spec, role: `peer-${first + i}` }, children));
    await Promise.all(peers.map((p) => p.waitFor((l) => l.ev === 'ready', 30_000)));
    // Each victim starts after a seeded random 0-1 s, so its leases fall at every phase of its peer's
    // recovery interval across the trials (on the same phase every time, the figures would be one point of it).
    const victims = await Promise.all(
      specs.map(async (spec, i) => {
        await sleep(Math.round(phase() * RECOVERY_MS));
        return startChild(
          { ...spec, role: `victim-${first + i}`, act: { sleepMs: 60_000 }, runOnStart: true },
          children,
        );
      }),
    );
    // Each victim is killed the moment it holds all its leases with every act running.
    const killedAt = await Promise.all(
      victims.map(async (v) => {
        await v.waitUntil(
          `all ${ITEMS} leases held and acts running`,
          (lines) =>
            keysOf(of(lines, 'acquire').filter((l) => l.token !== null)).size === ITEMS &&
            keysOf(of(lines, 'act.start')).size === ITEMS,
          30_000,
        );
        const at = Date.now();
        v.process.kill('SIGKILL');
        return at;
      }),
    );
    await Promise.all(victims.map((v) => v.exited));
    const trials = await Promise.all(
      peers.map(async (peer, i) => {
        const at = killedAt[i] as number;
        const completes = (lines: ChildLine[]) => of(lines, 'complete').filter((l) => l.ok === true && l.t >= at);
        await peer
          .waitUntil(`every key re-run and completed`, (lines) => keysOf(completes(lines)).size === ITEMS, WAIT_MS)
          .catch(() => {}); // an incomplete takeover is reported, not thrown
        const starts = firstPerKey(of(peer.lines, 'act.start'), at);
        const done = firstPerKey(completes(peer.lines), at);
        const complete = starts.length === ITEMS && done.length === ITEMS;
        return {
          lastStartMs: complete ? Math.max(...starts) : Number.NaN,
          lastCompleteMs: complete ? Math.max(...done) : Number.NaN,
          firstStartMs: starts.length > 0 ? Math.min(...starts) : Number.NaN,
          rerun: starts.length,
        };
      }),
    );
    await Promise.all(peers.map((p) => stopChild(p)));
    return trials;
  } finally {
    await killAll(children);
  }
}

export async function benchTakeover(): Promise<Record<string, number>> {
  heading(
    `takeover after SIGKILL: ${TRIALS} trials, a victim holding ${ITEMS} leases (blocking items) + one peer, fresh SQLite file each; leaseTtlMs ${fmt(TTL_MS)}, recoveryIntervalMs ${fmt(RECOVERY_MS)}; ${PARALLEL} trials at a time`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'autoloop-bench-takeover-'));
  const trials: Trial[] = [];
  const phase = seeded(7);
  try {
    for (let first = 0; first < TRIALS; first += PARALLEL) {
      trials.push(...(await round(dir, first, Math.min(PARALLEL, TRIALS - first), phase)));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const ok = trials.filter((t) => !Number.isNaN(t.lastStartMs));
  const last = ok.map((t) => t.lastStartMs);
  const bound = TTL_MS + RECOVERY_MS;
  const result = {
    trials: TRIALS,
    completeTrials: ok.length,
    boundMs: bound,
    lastKeyStartMinMs: Math.min(...last),
    lastKeyStartMedianMs: median(last),
    lastKeyStartMaxMs: Math.max(...last),
    lastKeyCompleteMedianMs: median(ok.map((t) => t.lastCompleteMs)),
    lastKeyCompleteMaxMs: Math.max(...ok.map((t) => t.lastCompleteMs)),
    firstKeyStartMedianMs: median(ok.map((t) => t.firstStartMs)),
    withinBound: last.filter((ms) => ms <= bound).length,
    bullmqStalledIntervalDocumentedMs: BULLMQ_STALLED_INTERVAL_MS,
  };
  if (ok.length < TRIALS) {
    const short = trials.filter((t) => Number.isNaN(t.lastStartMs)).map((t) => `${t.rerun}/${ITEMS}`);
    line(
      `INCOMPLETE: ${TRIALS - ok.length} trial(s) did not re-run every key within ${fmt(WAIT_MS)} ms (${short.join(', ')})`,
    );
  }
  line(
    `kill -> last key re-run starts   min ${fmt(result.lastKeyStartMinMs)} ms   median ${fmt(result.lastKeyStartMedianMs)} ms   max ${fmt(result.lastKeyStartMaxMs)} ms   (${ok.length}/${TRIALS} trials complete)`,
  );
  line(
    `kill -> last key re-run done     median ${fmt(result.lastKeyCompleteMedianMs)} ms   max ${fmt(result.lastKeyCompleteMaxMs)} ms   (first key starts: median ${fmt(result.firstKeyStartMedianMs)} ms)`,
  );
  line(
    `bound TTL + recovery interval    ${fmt(bound)} ms   ${result.withinBound}/${ok.length} trials within it; max / bound ${fmt(result.lastKeyStartMaxMs / bound, 2)}`,
  );
  line(
    `BullMQ (documented, NOT measured: not installed): stalledInterval default ${fmt(BULLMQ_STALLED_INTERVAL_MS / 1000)} s, lockDuration ${fmt(BULLMQ_LOCK_DURATION_MS / 1000)} s`,
  );
  line(
    `  a crashed worker's job waits for its lock to expire, then for a stalled check; the documented ${fmt(BULLMQ_STALLED_INTERVAL_MS / 1000)} s check interval alone is ${fmt(BULLMQ_STALLED_INTERVAL_MS / result.lastKeyStartMedianMs, 1)}x autoloop's median takeover here`,
  );
  return result;
}

// `node --import tsx bench/takeover.ts` runs it alone; bench/run.ts imports it.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await benchTakeover();
