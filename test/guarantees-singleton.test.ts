import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { seeded } from '../bench/report.ts';
import { defineLoop } from '../src/config/define-loop.ts';
import type { CycleRecord, ItemResult, Tick } from '../src/core/cycle-record.ts';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { VirtualClock } from '../src/time/virtual-clock.ts';
import { autoloop } from './support/cli.ts';
import { type BusLine, type ChildSpec, LONG, sleep, startChild, stopChild } from './support/guarantees-children.ts';
import { guaranteeFixture, type SimProcess, startSim } from './support/guarantees-sim.ts';

/**
 * DESIGN.md, Guarantees: "At most one cycle of a loop per tick, across all
 * processes sharing a store", and no tick goes missing without a recorded
 * reason: every tick has exactly one record, which either ran or says why
 * it was skipped (overlap, downtime, ...).
 */

const FIXTURE = fileURLToPath(new URL('./fixtures/guarantees/ticker.yaml', import.meta.url));

const fx = guaranteeFixture('singleton');
const { children, sims } = fx;

const iso = (ms: number) => new Date(ms).toISOString();
const reasonOf = (r: CycleRecord) => (r.outcome.kind === 'skipped' ? r.outcome.reason : '');

/**
 * Checks that every per-second tick of `loop` in (after, until] has a record
 * or is counted by a reason ("... 500 earlier ticks ..."), and describes the
 * account for the test output.
 */
async function assertEveryTickAccounted(
  t: { diagnostic(message: string): void },
  file: string,
  loop: string,
  after: number,
  until: number,
  situation: string,
): Promise<void> {
  const store = SqliteStore.open(file);
  try {
    const records = await store.cycles.list(loop);
    const recorded = new Set(records.map((r) => r.tickId));
    const due: number[] = [];
    for (let s = Math.floor(after / 1000) * 1000 + 1000; s <= until; s += 1000) due.push(s);
    const unrecorded = due.filter((s) => !recorded.has(`${loop}@${iso(s)}`));
    const counted = Math.max(
      0,
      ...records.flatMap((r) => [...reasonOf(r).matchAll(/(\d+)\s+(?:\w+\s+){0,3}ticks?\b/g)].map((m) => Number(m[1]))),
    );
    const first = unrecorded[0];
    const last = unrecorded.at(-1);
    t.diagnostic(
      `${due.length} ticks fell due ${situation}: ${due.length - unrecorded.length} recorded, ` +
        `${unrecorded.length} not recorded (first ${first ? iso(first) : '-'}, last ${last ? iso(last) : '-'}); ` +
        `largest tick count named in a reason: ${counted}`,
    );
    assert.ok(
      unrecorded.length === 0 || counted >= unrecorded.length,
      `${unrecorded.length} of ${due.length} missed ticks have no record and no reason counts them`,
    );
  } finally {
    await store.close();
  }
}

/** Counts of `keys`, as "a 3, b 1". */
function tally(keys: string[]): string {
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

async function allResults(store: SqliteStore, records: CycleRecord[]): Promise<ItemResult[]> {
  return (await Promise.all(records.map((c) => store.cycles.items(c.id)))).flat();
}

describe('guarantee: one cycle per tick, none missed without a reason', { timeout: LONG ? 400_000 : 180_000 }, () => {
  const RUN_MS = LONG ? 60_000 : 8_000;

  it(`3 processes, a cron loop every second, ${RUN_MS / 1000} s of real time: one record per tick, every second accounted for`, async (t) => {
    const db = join(fx.dir, 'three.db');
    const spec = (i: number): ChildSpec => ({
      db,
      role: `p${i}`,
      loop: { name: 'ticker', trigger: { cron: '* * * * * *' }, items: 1 },
    });
    const procs = [1, 2, 3].map((i) => startChild(spec(i), children));
    const readies = await Promise.all(procs.map((p) => p.waitFor((l) => l.ev === 'ready', 60_000)));
    const firstUp = Math.min(...readies.map((r) => r.t));
    const allUp = Math.max(...readies.map((r) => r.t));
    await sleep(RUN_MS);
    const termAt = Date.now();
    await Promise.all(procs.map((p) => stopChild(p)));

    const store = SqliteStore.open(db);
    let records: CycleRecord[];
    try {
      records = await store.cycles.list('ticker');
    } finally {
      await store.close();
    }
    const byTick = new Map<string, CycleRecord[]>();
    for (const r of records) byTick.set(r.tickId, [...(byTick.get(r.tickId) ?? []), r]);
    const dupes = [...byTick].filter(([, list]) => list.length > 1).map(([id]) => id);
    assert.deepEqual(dupes, [], 'ticks with more than one record');
    assert.deepEqual(
      records.filter((r) => r.outcome.kind === 'running').map((r) => r.tickId),
      [],
      'a record left running after a graceful stop',
    );

    // Every whole second after the first process was up and before the stop (minus the timer's slack) has a record.
    const seconds: number[] = [];
    for (let s = Math.floor(firstUp / 1000) * 1000 + 1000; s <= termAt - 250; s += 1000) seconds.push(s);
    const missing = seconds.filter((s) => !byTick.has(`ticker@${iso(s)}`));
    assert.deepEqual(missing.map(iso), [], 'seconds with no record while a process was up');
    const inWindow = seconds.map((s) => byTick.get(`ticker@${iso(s)}`)?.[0] as CycleRecord);
    const skipped = inWindow.filter((r) => r.outcome.kind === 'skipped');
    for (const r of skipped) assert.ok(reasonOf(r).length > 0, `${r.tickId}: skipped without a reason`);
    const notOk = inWindow.filter((r) => r.outcome.kind !== 'ok' && r.outcome.kind !== 'skipped');
    assert.deepEqual(
      notOk.map((r) => `${r.tickId}: ${JSON.stringify(r.outcome)}`),
      [],
    );

    // Across the processes' own logs: a tick started in at most one process, and they really raced for it.
    const started = procs.flatMap((p) => p.bus('cycle.started'));
    const startsPerTick = new Map<string, string[]>();
    for (const line of started) {
      const id = line.data.tickId as string;
      startsPerTick.set(id, [...(startsPerTick.get(id) ?? []), line.role]);
    }
    const twice = [...startsPerTick].filter(([, roles]) => roles.length > 1);
    assert.deepEqual(twice, [], 'a tick started in more than one process');
    const lostRace = procs
      .flatMap((p) => p.bus('cycle.skipped'))
      .filter((l) => /^duplicate tick/.test(String(l.data.reason)));
    const contenders = (s: number) =>
      (startsPerTick.get(`ticker@${iso(s)}`)?.length ?? 0) +
      lostRace.filter((l) => l.data.tickId === `ticker@${iso(s)}`).length;
    const fullyUp = seconds.filter((s) => s > allUp && s <= termAt - 1000);
    const contested = fullyUp.filter((s) => contenders(s) === 3);
    const winners = inWindow.filter((r) => r.outcome.kind === 'ok').map((r) => r.owner.split(':')[1] ?? '?');
    t.diagnostic(
      `${seconds.length} ticks while a process was up: ${inWindow.length - skipped.length} ran, ${skipped.length} skipped` +
        `${skipped.length ? ` (${tally(skipped.map((r) => reasonOf(r).split(':')[0] as string))})` : ''}; ` +
        `${contested.length}/${fullyUp.length} ticks with all 3 up were tried by all 3 (${lostRace.length} duplicate-tick refusals); ` +
        `ticks run per pid: ${tally(winners)}`,
    );
    assert.ok(fullyUp.length >= RUN_MS / 1000 - 3, `only ${fullyUp.length} ticks with all processes up`);
    assert.ok(contested.length >= fullyUp.length / 2, 'the processes did not race for the ticks: proves nothing');
  });

  it('a virtual day of 1,440 one-minute ticks with crashes and restarts: one record per tick, every gap explained', async (t) => {
    const T0 = Date.UTC(2026, 0, 1);
    const MINUTES = 1440;
    const SLOTS = 3;
    const OUTAGES: Array<[from: number, to: number]> = [
      [300, 325],
      [800, 802],
      [1200, 1261],
    ];
    const shared = new VirtualClock({ now: T0 });
    const file = join(fx.dir, 'day.db');
    const rand = seeded(20260101);
    // Most cycles take 2..26 s; every 53rd takes 130 s and overlaps the next two ticks.
    const actMs = (tick: Tick) => {
      if (tick.trigger !== 'cron') return 4_000;
      const m = Math.round((tick.scheduledAt - T0) / 60_000);
      return m % 53 === 0 ? 130_000 : 2_000 + ((m * 7919) % 25) * 1_000;
    };
    const loop = defineLoop({
      name: 'minutely',
      trigger: { cron: '0 * * * * *' },
      observe: () => ['job'],
      act: (_item, { clock, signal, tick }) => clock.sleep(actMs(tick), signal),
      policies: { timeout: '10m' },
    });
    const options = { leaseTtlMs: 30_000, recoveryIntervalMs: 10_000, shutdownGraceMs: 600_000 };
    const slots: Array<SimProcess | undefined> = Array.from({ length: SLOTS }, () => undefined);
    const daySims: SimProcess[] = [];
    let launched = 0;
    const launch = async (slot: number) => {
      const sim = await startSim(`s${slot}#${++launched}`, shared, file, [loop], options);
      sims.push(sim);
      daySims.push(sim);
      slots[slot] = sim;
    };
    let kills = 0;
    for (let i = 0; i < SLOTS; i++) await launch(i);

    const wallStart = Date.now();
    for (let m = 0; m < MINUTES; m++) {
      await shared.advanceTo(T0 + m * 60_000 + Math.floor(rand() * 60_000));
      const outageStart = OUTAGES.some(([from]) => from === m);
      const inOutage = OUTAGES.some(([from, to]) => m >= from && m < to);
      const outageEnd = OUTAGES.some(([, to]) => to === m);
      for (const [i, sim] of slots.entries()) {
        if (sim?.alive && (outageStart || rand() < 0.015)) {
          sim.kill();
          kills++;
        } else if (!sim?.alive && !inOutage && (rand() < 0.1 || (outageEnd && i === 0))) {
          await launch(i);
        }
      }
    }
    if (!slots.some((s) => s?.alive)) await launch(0);
    await shared.advanceTo(T0 + MINUTES * 60_000 + 1);
    const alive = slots.filter((s): s is SimProcess => s?.alive === true);
    const stopping = Promise.all(alive.map((s) => s.runtime.stop({ graceMs: options.shutdownGraceMs })));
    await shared.runUntil(() => alive.every((s) => s.runtime.state === 'stopped'));
    await stopping;
    for (const s of alive) s.endedAt = shared.now();
    const wallMs = Date.now() - wallStart;

    const store = SqliteStore.open(file);
    try {
      const records = await store.cycles.list('minutely');
      const cron = records.filter((r) => r.trigger === 'cron');
      const byTick = new Map<string, CycleRecord[]>();
      for (const r of cron) byTick.set(r.tickId, [...(byTick.get(r.tickId) ?? []), r]);
      assert.deepEqual(
        [...byTick].filter(([, list]) => list.length > 1).map(([id]) => id),
        [],
        'ticks with more than one record',
      );
      const startsPerTick = new Map<string, number>();
      for (const sim of daySims) {
        for (const e of sim.events) {
          if (e.type === 'cycle.started' && e.data.trigger === 'cron') {
            startsPerTick.set(e.data.tickId, (startsPerTick.get(e.data.tickId) ?? 0) + 1);
          }
        }
      }
      assert.deepEqual(
        [...startsPerTick].filter(([, n]) => n > 1),
        [],
        'a tick started in more than one runtime',
      );

      const ownerOf = new Map(daySims.map((s) => [s.runtime.owner, s]));
      const aliveAt = (at: number) =>
        daySims.some((s) => s.startedAt < at && (s.endedAt === undefined || s.endedAt >= at));
      const kinds: string[] = [];
      const problems: string[] = [];
      let downtimeTicks = 0;
      for (let k = 1; k <= MINUTES; k++) {
        const at = T0 + k * 60_000;
        const id = `minutely@${iso(at)}`;
        const r = byTick.get(id)?.[0];
        const up = aliveAt(at);
        if (!up) downtimeTicks++;
        if (!r) {
          problems.push(
            `${id}: no record (${up ? 'a process was alive' : 'no process alive, none recorded it later'})`,
          );
          continue;
        }
        const reason = reasonOf(r);
        const abandoned = r.outcome.kind === 'failed' && /^abandoned: /.test(r.outcome.error.message);
        if (r.outcome.kind === 'running' || abandoned) {
          const sim = ownerOf.get(r.owner);
          // Left running by a crash (and closed as abandoned by a peer's recovery loop once the owner's
          // heartbeat expired): its owner was killed mid-cycle (its item is adopted, checked below).
          if (!sim || sim.alive || sim.clock.dead !== true)
            problems.push(`${id}: ${r.outcome.kind}, but its owner was not killed`);
          kinds.push('crashed mid-cycle');
        } else if (r.outcome.kind === 'skipped') {
          if (reason === '') problems.push(`${id}: skipped without a reason`);
          if (/^missed: no process/.test(reason) && up) problems.push(`${id}: "${reason}", yet a process was alive`);
          if (!up && !/^missed/.test(reason)) problems.push(`${id}: no process alive, but recorded as "${reason}"`);
          kinds.push(`skipped: ${reason.replace(/ \(.*$|: cycle for .*$/, '')}`);
        } else {
          if (!up) problems.push(`${id}: ran although no process was alive`);
          kinds.push(r.counts.skipped > 0 ? 'ran (item skipped: key busy)' : `ran (${r.outcome.kind})`);
        }
      }
      assert.deepEqual(problems, [], `${problems.length} tick(s) not accounted for`);

      // Nothing planned was lost: every item of every cycle has a result (a crashed cycle's item was adopted).
      const results = await allResults(store, records);
      const resultOf = new Map(results.map((r) => [r.idempotencyKey, r]));
      const planned = cron.filter((r) => r.outcome.kind !== 'skipped' && r.counts.planned > 0);
      const unresolved = planned.filter((r) => !resultOf.has(`minutely:job:${r.tickId}`)).map((r) => r.tickId);
      assert.deepEqual(unresolved, [], 'planned items with no result');
      for (const r of results) {
        if (r.status !== 'succeeded') assert.ok(r.error?.message, `${r.idempotencyKey}: ${r.status} without a reason`);
      }
      assert.deepEqual(await store.queue.list('minutely'), [], 'items left in the queue');

      const recovery = records.filter((r) => r.trigger === 'recovery');
      const noneAlive: Array<[number, number]> = [];
      for (let s = T0; s < T0 + MINUTES * 60_000; s += 1_000) {
        if (aliveAt(s)) continue;
        const last = noneAlive.at(-1);
        if (last && last[1] === s - 1_000) last[1] = s;
        else noneAlive.push([s, s]);
      }
      const downMin = noneAlive.reduce((n, [a, b]) => n + (b - a + 1_000), 0) / 60_000;
      t.diagnostic(
        `virtual day in ${wallMs} ms: ${launched} process starts, ${kills} kills, ${noneAlive.length} windows with no ` +
          `process alive (${downMin.toFixed(0)} min, ${downtimeTicks} ticks); ticks: ${tally(kinds)}; ` +
          `${recovery.length} recovery cycles adopted ${recovery.reduce((n, r) => n + r.counts.planned, 0)} orphaned item(s); ` +
          `item results: ${tally(results.map((r) => r.status))}`,
      );
      // The scenario really happened (else the checks above prove little).
      assert.ok(kills >= 20, `${kills} kills`);
      assert.ok(noneAlive.length >= 3, `${noneAlive.length} windows with no process alive`);
      assert.ok(downMin < MINUTES * 0.2, `no process alive for ${downMin} of ${MINUTES} minutes`);
      for (const kind of ['crashed mid-cycle', 'skipped: overlap', 'skipped: missed']) {
        assert.ok(
          kinds.some((k) => k.startsWith(kind)),
          `no tick was "${kind}"`,
        );
      }
      assert.ok(recovery.length > 0, 'no orphaned item was adopted');
      assert.equal(shared.pendingTimers, 0, 'timers left after every process stopped or died');
    } finally {
      await store.close();
    }
  });

  it('a downtime longer than 1,000 ticks: every missed tick is recorded or counted in a reason', async (t) => {
    const T0 = Date.UTC(2026, 0, 1);
    const shared = new VirtualClock({ now: T0 });
    const file = join(fx.dir, 'long-downtime.db');
    const loop = defineLoop({ name: 'persecond', trigger: { cron: '* * * * * *' }, act: () => null });
    const first = await startSim('first', shared, file, [loop]);
    sims.push(first);
    await shared.advance(5_500);
    await first.stop();
    const stoppedAt = shared.now();
    await shared.advance(1_500_000); // 25 minutes, 1,500 ticks, no process
    const second = await startSim('second', shared, file, [loop]);
    sims.push(second);
    await second.stop();

    await assertEveryTickAccounted(t, file, 'persecond', stoppedAt, second.startedAt, 'with no process running');
  });

  it('a process frozen for longer than 1,000 ticks: every tick it missed is recorded or counted in a reason', async (t) => {
    const T0 = Date.UTC(2026, 0, 1);
    const shared = new VirtualClock({ now: T0 });
    const file = join(fx.dir, 'long-freeze.db');
    const loop = defineLoop({ name: 'frozen', trigger: { cron: '* * * * * *' }, act: () => null });
    const sim = await startSim('only', shared, file, [loop]);
    sims.push(sim);
    await shared.advance(5_500);
    const frozenAt = shared.now();
    shared.jump(1_500_000); // SIGSTOP, a sleeping laptop: 1,500 ticks fall due while no timer can fire
    await shared.advance(0);
    await sim.stop();

    await assertEveryTickAccounted(t, file, 'frozen', frozenAt, frozenAt + 1_500_000, 'while the process was frozen');
  });

  it('autoloop cycles <loop> --json shows skipped cycles with their reasons (overlap, downtime)', async (t) => {
    const db = join(fx.dir, 'cli.db');
    const loop = { name: 'ticker', trigger: { cron: '* * * * * *' }, items: 1 };
    // An act longer than the 1 s tick: the next tick is skipped for overlap.
    const slow = startChild({ db, role: 'slow', loop, act: { sleepMs: 1_500 } }, children);
    await slow.waitUntil(
      'two overlap skips',
      (lines) =>
        lines.filter(
          (l) =>
            l.ev === 'bus' &&
            (l as BusLine).type === 'cycle.skipped' &&
            /^overlap/.test(String((l as BusLine).data.reason)),
        ).length >= 2,
      15_000,
    );
    await stopChild(slow);
    const stoppedAt = Date.now();
    await sleep(2_500); // two or more ticks with no process running
    const again = startChild({ db, role: 'again', loop }, children);
    const ready = await again.waitFor((l) => l.ev === 'ready');
    await stopChild(again);

    const r = await autoloop([
      'cycles',
      'ticker',
      '--config',
      FIXTURE,
      '--store',
      `sqlite://${db}`,
      '--json',
      '--limit',
      '100',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const records = JSON.parse(r.stdout) as Array<CycleRecord & { items: ItemResult[] }>;
    const skipped = records.filter((c) => c.outcome.kind === 'skipped');
    const overlap = skipped.filter((c) => /^overlap: cycle for ticker@\S+ still running$/.test(reasonOf(c)));
    const missed = skipped.filter((c) => /^missed: no process was running the loop/.test(reasonOf(c)));
    t.diagnostic(
      `autoloop cycles --json: ${records.length} records, ${skipped.length} skipped: ${tally(skipped.map((c) => reasonOf(c)))}`,
    );
    assert.ok(overlap.length >= 2, 'overlap skips listed with their reason');
    assert.ok(missed.length >= 2, 'downtime skips listed with their reason');
    for (const c of missed) {
      assert.ok(c.scheduledAt >= stoppedAt - 1_000 && c.scheduledAt <= ready.t, `${c.tickId} was not in the downtime`);
    }
    for (const c of skipped) {
      assert.ok(reasonOf(c).length > 0, `${c.tickId}: no reason`);
      assert.deepEqual(c.items, [], 'a skipped cycle has no item results');
    }
  });
});
