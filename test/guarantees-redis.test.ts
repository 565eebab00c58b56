import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { CycleRecord, ItemResult } from '../src/core/cycle-record.ts';
import { openStore } from '../src/storage/open-store.ts';
import type { Store } from '../src/storage/store.ts';
import {
  type Child,
  type ChildLine,
  type ChildSpec,
  LONG,
  sleep,
  startChild,
  stopChild,
} from './support/guarantees-children.ts';
import { guaranteeFixture } from './support/guarantees-sim.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';

/**
 * DESIGN.md's guarantees on the Redis store, proven with real processes
 * sharing one real redis-server (the SQLite versions are
 * guarantees-{singleton,takeover,fencing}.test.ts):
 *
 * - at most one cycle of a loop per tick across processes, none missing;
 * - a SIGKILLed holder's keys are taken over within TTL + 2 s, every item
 *   committed exactly once, fencing tokens increasing per key;
 * - a holder frozen (SIGSTOP) past its TTL cannot write once it wakes.
 *
 * Each test gets its own Redis database number and key prefix, so tests
 * (and other test files on a shared REDIS_URL) never see each other's keys.
 */

const fx = guaranteeFixture('redis');
const { children } = fx;

let redis: TestRedis;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

let nextDb = 1;
/** A store URL of its own for one test: a fresh database number and key prefix on the test server. */
function storeUrl(name: string): string {
  const url = new URL(redis.url);
  url.pathname = `/${nextDb++}`;
  url.searchParams.set('prefix', `autoloop-test:${name}:${randomBytes(4).toString('hex')}:`);
  return url.toString();
}

async function withStore<T>(url: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(url);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function allResults(store: Store, loop: string): Promise<ItemResult[]> {
  const cycles = await store.cycles.list(loop);
  return (await Promise.all(cycles.map((c) => store.cycles.items(c.id)))).flat();
}

const iso = (ms: number) => new Date(ms).toISOString();
const of = (lines: ChildLine[], ev: string) => lines.filter((l) => l.ev === ev);
const keysOf = (lines: ChildLine[]) => new Set(lines.map((l) => l.key as string));
const reasonOf = (r: CycleRecord) => (r.outcome.kind === 'skipped' ? r.outcome.reason : '');

/** Counts of `keys`, as "a 3, b 1". */
function tally(keys: string[]): string {
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

/** Checks that each key's successful commits (`complete` ok) across `procs` number exactly one. */
function assertCommittedOnce(procs: Child[], keys: readonly string[]): void {
  const commits = procs.flatMap((p) => of(p.lines, 'complete').filter((l) => l.ok === true));
  const perKey = new Map<string, string[]>();
  for (const l of commits) perKey.set(l.key as string, [...(perKey.get(l.key as string) ?? []), l.role]);
  const wrong = keys
    .filter((k) => perKey.get(k)?.length !== 1)
    .map((k) => `${k}: ${perKey.get(k)?.join(', ') ?? 'none'}`);
  assert.deepEqual(wrong, [], 'keys not committed exactly once (commits accepted by the store, per process)');
}

describe('guarantees on the Redis store, with real processes', { timeout: LONG ? 400_000 : 240_000 }, () => {
  const RUN_MS = LONG ? 60_000 : 8_000;

  it(`3 processes, a cron loop every second, ${RUN_MS / 1000} s of real time: exactly one cycle per tick`, async (t) => {
    const url = storeUrl('singleton');
    const spec = (i: number): ChildSpec => ({
      store: url,
      role: `p${i}`,
      loop: { name: 'ticker', trigger: { cron: '* * * * * *' }, items: 1 },
    });
    const procs = [1, 2, 3].map((i) => startChild(spec(i), children));
    const readies = await Promise.all(procs.map((p) => p.waitFor((l) => l.ev === 'ready', 60_000)));
    assert.match(String(readies[0]?.store), /^redis:\/\//, 'the children run on Redis');
    const firstUp = Math.min(...readies.map((r) => r.t));
    const allUp = Math.max(...readies.map((r) => r.t));
    await sleep(RUN_MS);
    const termAt = Date.now();
    await Promise.all(procs.map((p) => stopChild(p)));

    const records = await withStore(url, (store) => store.cycles.list('ticker'));
    const byTick = new Map<string, CycleRecord[]>();
    for (const r of records) byTick.set(r.tickId, [...(byTick.get(r.tickId) ?? []), r]);
    assert.deepEqual(
      [...byTick].filter(([, list]) => list.length > 1).map(([id]) => id),
      [],
      'ticks with more than one record',
    );
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
    assert.deepEqual(
      inWindow
        .filter((r) => r.outcome.kind !== 'ok' && r.outcome.kind !== 'skipped')
        .map((r) => `${r.tickId}: ${JSON.stringify(r.outcome)}`),
      [],
    );

    // Across the processes' own logs: a tick started in at most one process, and they really raced for it.
    const startsPerTick = new Map<string, string[]>();
    for (const line of procs.flatMap((p) => p.bus('cycle.started'))) {
      const id = line.data.tickId as string;
      startsPerTick.set(id, [...(startsPerTick.get(id) ?? []), line.role]);
    }
    assert.deepEqual(
      [...startsPerTick].filter(([, roles]) => roles.length > 1),
      [],
      'a tick started in more than one process',
    );
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

  it('SIGKILL a process holding 50 leases: peers re-run every item within TTL + 2 s, each committed once, tokens increasing', async (t) => {
    const TTL = LONG ? 10_000 : 3_000;
    const ITEMS = 50;
    const LOOP = 'takeover';
    const url = storeUrl('takeover');
    const keys = Array.from({ length: ITEMS }, (_, i) => `k${i}`);
    const base: Omit<ChildSpec, 'role'> = {
      store: url,
      loop: { name: LOOP, trigger: { manual: true }, items: ITEMS, concurrency: ITEMS, timeout: '5m' },
      leaseTtlMs: TTL,
    };
    const peers = [1, 2].map((i) => startChild({ ...base, role: `peer-${i}` }, children));
    await Promise.all(peers.map((p) => p.waitFor((l) => l.ev === 'ready', 60_000)));
    // The victim's items block (60 s, honouring their signal); the peers' acts return at once.
    const victim = startChild({ ...base, role: 'victim', act: { sleepMs: 60_000 }, runOnStart: true }, children);
    await victim.waitUntil(
      `${ITEMS} items in flight in the victim`,
      (lines) => keysOf(of(lines, 'act.start')).size === ITEMS,
      20_000,
    );
    const victimLeases = of(victim.lines, 'acquire').filter((l) => l.token !== null);
    assert.equal(keysOf(victimLeases).size, ITEMS, `the victim holds ${ITEMS} leases`);
    // Past the first renewals: the takeover must follow renewed leases and extended claims, not the first ones.
    await victim.waitUntil('a renewal round', (lines) => of(lines, 'renew').length >= ITEMS, TTL);
    await sleep(TTL / 6);

    const killedAt = Date.now();
    victim.process.kill('SIGKILL');
    await victim.exited;

    const peerLines = () => peers.flatMap((p) => p.lines);
    const finals = () => keysOf(of(peerLines(), 'complete').filter((l) => l.ok === true));
    const deadline = Date.now() + TTL + 10_000;
    while (finals().size < ITEMS && Date.now() < deadline) await sleep(50);
    await sleep(500); // a late duplicate commit would show up here

    // Takeover time per key: kill -> the item's act starting again in a peer.
    const rerunAt = new Map<string, ChildLine>();
    for (const line of of(peerLines(), 'act.start')) {
      if (line.t >= killedAt && !rerunAt.has(line.key as string)) rerunAt.set(line.key as string, line);
    }
    const takeover = [...rerunAt.values()].map((l) => l.t - killedAt).sort((a, b) => a - b);
    const maxMs = takeover.at(-1) ?? Number.NaN;
    const byPeer = peers.map(
      (p) => `${p.spec.role} ${[...rerunAt.values()].filter((l) => l.role === p.spec.role).length}`,
    );
    t.diagnostic(
      `takeover after SIGKILL on Redis (TTL ${TTL} ms): ${takeover.length}/${ITEMS} keys re-run; ` +
        `min ${takeover[0]} ms, median ${takeover[Math.floor(takeover.length / 2)]} ms, max ${maxMs} ms; re-runs: ${byPeer.join(', ')}`,
    );
    await Promise.all(peers.map((p) => stopChild(p)));

    const missing = keys.filter((k) => !rerunAt.has(k));
    assert.deepEqual(missing, [], 'items never re-run after the crash');
    assert.ok(maxMs <= TTL + 2_000, `slowest takeover ${maxMs} ms > TTL + 2 s (${TTL + 2_000} ms)`);
    assert.deepEqual(
      of(victim.lines, 'complete').filter((l) => l.ok === true),
      [],
      'the victim completed nothing before it died',
    );
    assertCommittedOnce([victim, ...peers], keys);

    await withStore(url, async (store) => {
      // None lost, none committed twice: exactly one result per item's idempotency key, a peer's success.
      const results = await allResults(store, LOOP);
      const byIdem = new Map<string, ItemResult[]>();
      for (const r of results) byIdem.set(r.idempotencyKey, [...(byIdem.get(r.idempotencyKey) ?? []), r]);
      assert.equal(byIdem.size, ITEMS, 'one idempotency key per planned item');
      for (const [idem, list] of byIdem) {
        const statuses = list.map((r) => `${r.status}${r.error ? ` (${r.error.message})` : ''}`).join(', ');
        assert.deepEqual(
          list.map((r) => r.status),
          ['succeeded'],
          `${idem}: results ${statuses}`,
        );
        assert.notEqual((list[0]?.output as { by?: string } | undefined)?.by, 'victim');
      }
      assert.deepEqual(await store.queue.list(LOOP), [], 'nothing left in the queue');

      // Fencing tokens strictly increase per key, in the order the processes were given them.
      const grants = [...victim.lines, ...peerLines()]
        .filter((l) => l.ev === 'acquire' && l.token !== null)
        .sort((a, b) => a.t - b.t || (a.token as number) - (b.token as number));
      for (const k of keys) {
        const key = `${LOOP}/${k}`;
        const seq = grants.filter((g) => g.key === key);
        const tokens = seq.map((g) => `${g.role}#${g.token}`).join(' -> ');
        assert.ok(seq.length >= 2, `${key}: expected the victim's lease and a peer's, got ${tokens}`);
        assert.equal(seq[0]?.role, 'victim', `${key}: ${tokens}`);
        for (let j = 1; j < seq.length; j++) {
          assert.ok((seq[j]?.token as number) > (seq[j - 1]?.token as number), `${key}: tokens ${tokens}`);
        }
        assert.notEqual(seq.at(-1)?.role, 'victim', `${key}: ${tokens}`);
        assert.equal(await store.leases.currentToken(key), seq.at(-1)?.token, `${key}: the store's latest token`);
      }
      assert.deepEqual(await store.leases.list(Date.now()), [], 'no lease left held');
    });
  });

  it('SIGSTOP a holder past its TTL, then SIGCONT: a peer took its items, every late write is refused, its signals abort', async (t) => {
    const TTL = LONG ? 10_000 : 2_000;
    const ITEMS = 5;
    const LOOP = 'frozen';
    const url = storeUrl('fencing');
    const keys = Array.from({ length: ITEMS }, (_, i) => `k${i}`);
    const base: Omit<ChildSpec, 'role'> = {
      store: url,
      loop: { name: LOOP, trigger: { manual: true }, items: ITEMS, concurrency: ITEMS, timeout: '5m' },
      leaseTtlMs: TTL,
      recoveryIntervalMs: 250,
    };
    const peer = startChild({ ...base, role: 'peer' }, children);
    await peer.waitFor((l) => l.ev === 'ready', 60_000);
    const holder = startChild(
      { ...base, role: 'holder', act: { sleepMs: 60_000 }, runOnStart: true, probeLateWrites: true },
      children,
    );
    await holder.waitUntil('all items in flight', (lines) => keysOf(of(lines, 'act.start')).size === ITEMS, 20_000);
    await holder.waitUntil('a renewal round', (lines) => of(lines, 'renew').length >= ITEMS, TTL);
    const holderTokens = new Map(of(holder.lines, 'acquire').map((l) => [l.key as string, l.token as number]));

    const stoppedAt = Date.now();
    holder.process.kill('SIGSTOP');
    await peer.waitUntil(
      'the peer to complete every item',
      (lines) => keysOf(of(lines, 'complete').filter((l) => l.ok === true && l.status === 'succeeded')).size === ITEMS,
      TTL + 8_000,
    );
    const peerDoneAfter = Math.max(...of(peer.lines, 'complete').map((l) => l.t)) - stoppedAt;
    await sleep(200);
    const contAt = Date.now();
    holder.process.kill('SIGCONT');

    await holder.waitUntil(
      'every item signal aborted and every late write probed',
      (lines) =>
        keysOf(of(lines, 'signal.aborted')).size === ITEMS &&
        keysOf(of(lines, 'probe')).size === ITEMS &&
        lines.some((l) => l.ev === 'ran'),
      5_000,
    );
    const latencies = of(holder.lines, 'signal.aborted').map((l) => l.t - contAt);
    const maxLatency = Math.max(...latencies);
    // Every store write the holder attempted after waking, and whether the store refused it.
    const late = holder.lines
      .filter((l) => l.t >= contAt && ['complete', 'probe', 'renew', 'release', 'extend'].includes(l.ev))
      .map((l) => {
        const refused = l.ev === 'extend' ? !(l.held as string[]).some((k) => keys.includes(k)) : l.ok === false;
        const key = typeof l.key === 'string' ? l.key.replace(`${LOOP}/`, '') : (l.keys as string[]).join(',');
        return { ev: l.ev, key, refused };
      });
    const ran = holder.lines.find((l) => l.ev === 'ran');
    t.diagnostic(
      `frozen ${contAt - stoppedAt} ms (TTL ${TTL} ms); the peer had completed all ${ITEMS} items ${peerDoneAfter} ms ` +
        `after SIGSTOP; after SIGCONT the holder's signals aborted in ${Math.min(...latencies)}..${maxLatency} ms; ` +
        `${late.length} late writes, ${late.filter((w) => w.refused).length} refused: ` +
        `${late.map((w) => `${w.ev}(${w.key})=${w.refused ? 'refused' : 'ACCEPTED'}`).join(', ')}; ` +
        `holder's cycle: ${JSON.stringify(ran?.outcome)} ${JSON.stringify(ran?.counts)}`,
    );
    await Promise.all([stopChild(peer), stopChild(holder)]);

    assert.ok(maxLatency <= 500, `an item's signal aborted ${maxLatency} ms after SIGCONT (> 500 ms)`);
    for (const line of of(holder.lines, 'signal.aborted')) assert.match(line.reason as string, /^LeaseLostError/);
    assert.equal(late.filter((w) => w.ev === 'probe').length, ITEMS, 'one stale write attempted per item');
    assert.deepEqual(
      late.filter((w) => !w.refused).map((w) => `${w.ev}(${w.key})`),
      [],
      'the store accepted a write from the holder after it lost its leases',
    );
    assert.deepEqual(
      of(holder.lines, 'complete').filter((l) => l.ok === true),
      [],
      'the frozen holder completed nothing',
    );
    assertCommittedOnce([holder, peer], keys);

    await withStore(url, async (store) => {
      const results = await allResults(store, LOOP);
      for (const key of keys) {
        assert.deepEqual(
          results.filter((r) => r.key === key).map((r) => [r.status, (r.output as { by?: string } | undefined)?.by]),
          [['succeeded', 'peer']],
          `${key}: exactly one result, the peer's`,
        );
        const peerToken = of(peer.lines, 'acquire').find((l) => l.key === `${LOOP}/${key}` && l.token !== null)?.token;
        const holderToken = holderTokens.get(`${LOOP}/${key}`) as number;
        assert.ok(
          typeof peerToken === 'number' && peerToken > holderToken,
          `${key}: peer token ${peerToken} > holder ${holderToken}`,
        );
        assert.equal(await store.leases.currentToken(`${LOOP}/${key}`), peerToken, `${key}: the latest token`);
      }
      assert.deepEqual(await store.queue.list(LOOP), []);
    });
  });
});
