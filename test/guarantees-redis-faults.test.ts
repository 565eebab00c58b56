import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ItemResult } from '../src/core/cycle-record.ts';
import { openStore } from '../src/storage/open-store.ts';
import type { Store } from '../src/storage/store.ts';
import { type FaultProxy, startFaultProxy } from './support/fault-proxy.ts';
import {
  type Child,
  type ChildLine,
  type ChildSpec,
  LONG,
  pollUntil,
  sleep,
  startChild,
  stopChild,
} from './support/guarantees-children.ts';
import { guaranteeFixture } from './support/guarantees-sim.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';

/**
 * The lease guarantees on Redis when the network between a process and Redis
 * is bad: a real runtime process talks to a real redis-server through a
 * fault-injecting TCP proxy on loopback (support/fault-proxy.ts), in real time.
 *
 * Latency: the proxy holds every chunk back 500 ms in each direction, so
 * every Redis round trip (lease acquire, renewal, claim heartbeat, result
 * write) takes about 1 s more. The holder runs on the runtime's default
 * lease TTL (10 s: renewals every 3.3 s, a give-up deadline 9 s after the
 * last successful renewal was sent); no lease may be lost.
 *
 * Connection resets: the proxy sends a TCP RST to both sides of every open
 * connection. What that does to the store's client (ioredis):
 * - the socket errors with ECONNRESET and closes; the client reconnects on
 *   its own after its retry delay (the backend's `retryStrategy`), then
 *   runs its ready check and re-selects the database before sending more;
 * - a command whose request had reached Redis has run there, but its reply
 *   is lost with the connection. With ioredis's defaults the client resends
 *   such unanswered commands after reconnecting, and holds commands made
 *   while disconnected in its offline queue; a backend configured with
 *   `autoResendUnfulfilledCommands: false`, `maxRetriesPerRequest: 0` and
 *   no offline queue instead rejects them at once (a StoreError: "may or may
 *   not have run"). The `store.error` lines the test prints say which
 *   behaviour was in effect;
 * - the runtime sees a slow or failed renewal, claim heartbeat or write. A
 *   failed renewal is retried at the next ttl/3 until the give-up deadline;
 *   a holder that misses it aborts the item (LeaseLostError) and writes
 *   nothing under the lost lease; the item's queue claim then expires and a
 *   peer (or the holder's own recovery loop) re-runs it under a newer token.
 * So after resets a lease is kept, or it is lost and then its late write is
 * refused and its item re-run: nothing lost, nothing committed twice.
 */

const fx = guaranteeFixture('redis-faults');
const { children } = fx;

const LATENCY_MS = 500;
/** The runtime's default lease TTL (leaseTtlMs left unset in the children). */
const DEFAULT_TTL_MS = 10_000;

let redis: TestRedis;
let target: { host: string; port: number };
const proxies: FaultProxy[] = [];
before(async () => {
  redis = await startRedis();
  const url = new URL(redis.url);
  target = { host: url.hostname || '127.0.0.1', port: Number(url.port || 6379) };
});
after(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await redis?.stop();
});

let nextDb = 9;
/**
 * A store URL of its own for one test (a fresh database number and key
 * prefix), on the test server itself or, with `proxy`, through the proxy.
 */
function storeUrls(name: string): { direct: string; via: (proxy: FaultProxy) => string } {
  const url = new URL(redis.url);
  url.pathname = `/${nextDb++}`;
  url.searchParams.set('prefix', `autoloop-test:${name}:${randomBytes(4).toString('hex')}:`);
  const direct = url.toString();
  return {
    direct,
    via: (proxy) => {
      const proxied = new URL(direct);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(proxy.port);
      return proxied.toString();
    },
  };
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

/** One RESP PING over a fresh connection to `port`: the round trip in ms. */
function pingMs(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error('no PONG within 10 s')));
    socket.on('error', reject);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (!reply.includes('\r\n')) return;
      socket.destroy();
      if (reply.startsWith('+PONG')) resolve(performance.now() - started);
      else reject(new Error(`expected +PONG, got ${JSON.stringify(reply)}`));
    });
  });
}

/** The child's lines for store calls that got an answer (see runtime-child.ts). */
const STORE_CALLS = ['acquire', 'renew', 'release', 'extend', 'complete', 'adopt', 'probe'];
const of = (lines: ChildLine[], ev: string) => lines.filter((l) => l.ev === ev);
const keysOf = (lines: ChildLine[]) => new Set(lines.map((l) => l.key as string));
const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `min ${sorted[0]} ms, median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms (${sorted.length})`;
};

/** Counts of `names`, as "a 3, b 1". */
function tally(names: string[]): string {
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts].map(([n, c]) => `${n} ${c}`).join(', ') || 'none';
}

/** Each key's successful commits (`complete` ok) across `procs`: exactly one, else the assertion names them. */
function assertCommittedOnce(procs: Child[], keys: readonly string[]): Map<string, ChildLine> {
  const perKey = new Map<string, ChildLine[]>();
  for (const l of procs.flatMap((p) => of(p.lines, 'complete').filter((c) => c.ok === true))) {
    perKey.set(l.key as string, [...(perKey.get(l.key as string) ?? []), l]);
  }
  const wrong = keys
    .filter((k) => perKey.get(k)?.length !== 1)
    .map((k) => `${k}: ${perKey.get(k)?.map((l) => `${l.role}#${l.token}`) ?? 'none'}`);
  assert.deepEqual(wrong, [], 'keys not committed exactly once (commits the store accepted)');
  return new Map([...perKey].map(([k, list]) => [k, list[0] as ChildLine]));
}

/** Checks the store: one succeeded result per item, nothing left queued or leased. */
async function assertStoreClean(store: Store, loop: string, items: number): Promise<ItemResult[]> {
  const results = await allResults(store, loop);
  const byIdem = new Map<string, ItemResult[]>();
  for (const r of results) byIdem.set(r.idempotencyKey, [...(byIdem.get(r.idempotencyKey) ?? []), r]);
  assert.equal(byIdem.size, items, 'one idempotency key per planned item');
  for (const [idem, list] of byIdem) {
    const described = list.map((r) => `${r.status}${r.error ? ` (${r.error.message})` : ''}`).join(', ');
    assert.deepEqual(
      list.map((r) => r.status),
      ['succeeded'],
      `${idem}: results ${described}`,
    );
  }
  assert.deepEqual(
    results.filter((r) => (r.output as { probe?: boolean } | undefined)?.probe === true).map((r) => r.key),
    [],
    'a late write (probe) was stored',
  );
  assert.deepEqual(await store.queue.list(loop), [], 'nothing left in the queue');
  assert.deepEqual(await store.leases.list(Date.now()), [], 'no lease left held');
  return results;
}

describe('guarantees on Redis through a faulty network', {
  concurrency: true,
  timeout: LONG ? 400_000 : 240_000,
}, () => {
  it(`+${LATENCY_MS} ms each way on every Redis round trip, default lease TTL (10 s): no lease lost, every renewal ok, every item committed once`, async (t) => {
    const ITEMS = 20;
    const ITEM_MS = LONG ? 60_000 : 10_000;
    const LOOP = 'slow-link';
    const keys = Array.from({ length: ITEMS }, (_, i) => `k${i}`);
    const proxy = await startFaultProxy(target);
    proxies.push(proxy);
    proxy.setLatency(LATENCY_MS);
    const rtt = await pingMs(proxy.port);
    const urls = storeUrls('latency');
    const spawnedAt = Date.now();
    // leaseTtlMs unset: the runtime's default TTL, checked on the stored lease below.
    const holder = startChild(
      {
        store: urls.via(proxy),
        role: 'holder',
        loop: { name: LOOP, trigger: { manual: true }, items: ITEMS, concurrency: ITEMS, timeout: '5m' },
        act: { sleepMs: ITEM_MS },
        runOnStart: true,
        probeLateWrites: true,
      },
      children,
    );
    await holder.waitUntil(
      `${ITEMS} items in flight (or the cycle's end)`,
      (l) => keysOf(of(l, 'act.start')).size === ITEMS || l.some((x) => x.ev === 'ran'),
      90_000,
    );
    const early = holder.lines.find((l) => l.ev === 'ran');
    assert.equal(
      early,
      undefined,
      `the cycle ended before its ${ITEMS} items were in flight: ${JSON.stringify(early?.outcome ?? early?.error)}`,
    );
    const leased = await withStore(urls.direct, (store) => store.leases.list(Date.now()));
    const ttls = [...new Set(leased.map((l) => l.expiresAt - l.acquiredAt))];
    const ran = await holder.waitFor((l) => l.ev === 'ran', ITEM_MS + 30_000);
    const ranAt = Date.now();
    await stopChild(holder);
    const since = (ev: string) => `${((holder.lines.find((l) => l.ev === ev)?.t ?? Number.NaN) - spawnedAt) / 1000} s`;

    const renewals = of(holder.lines, 'renew');
    const perKey = keys.map((k) => renewals.filter((l) => l.key === `${LOOP}/${k}`).length);
    const ms = (ev: string) => of(holder.lines, ev).map((l) => l.ms as number);
    t.diagnostic(
      `through the proxy (+${LATENCY_MS} ms each way): PING round trip ${Math.round(rtt)} ms; lease TTL ${ttls.join(', ')} ms ` +
        `(the runtime's default); ${ITEMS} items of ${ITEM_MS} ms: ${renewals.length} renewals ` +
        `(${Math.min(...perKey)}..${Math.max(...perKey)} per key), ${renewals.filter((l) => l.ok !== true).length} refused, ` +
        `${holder.bus('lease.lost').length} leases lost; renewal ${stats(ms('renew'))}; acquire ${stats(ms('acquire'))}; ` +
        `claim heartbeat ${stats(ms('extend'))}; result write ${stats(ms('complete'))}; ` +
        `store errors: ${tally(of(holder.lines, 'store.error').map((l) => String(l.op)))}; cycle ${JSON.stringify(ran.outcome ?? ran.error)}; ` +
        `after spawn: ready ${since('ready')}, first item ${since('act.start')}, cycle ended ${(ranAt - spawnedAt) / 1000} s, ` +
        `stopped ${since('stopped')}`,
    );

    // The scenario really happened: slow round trips, on the default TTL, while the items ran.
    assert.ok(rtt >= 2 * LATENCY_MS, `a PING through the proxy took ${rtt} ms, expected >= ${2 * LATENCY_MS} ms`);
    assert.deepEqual(ttls, [DEFAULT_TTL_MS], 'the leases were taken with the default TTL');
    assert.equal(leased.length, ITEMS, 'every item held its lease while it ran');
    assert.ok(
      Math.min(...ms('renew')) >= 2 * LATENCY_MS - 50,
      `a renewal answered in ${Math.min(...ms('renew'))} ms: not slowed by the proxy`,
    );
    assert.ok(Math.min(...perKey) >= 2, `a key was renewed only ${Math.min(...perKey)} times while its item ran`);

    // No lease lost: no renewal refused or failed, no abort, no late write, every claim kept.
    assert.deepEqual(holder.bus('lease.lost'), [], 'a lease was lost under latency');
    assert.deepEqual(
      renewals.filter((l) => l.ok !== true).map((l) => l.key),
      [],
      'renewals refused',
    );
    assert.deepEqual(
      of(holder.lines, 'store.error').map((l) => `${l.op}: ${l.error}`),
      [],
      'store calls that failed',
    );
    assert.deepEqual(of(holder.lines, 'signal.aborted'), [], 'an item was aborted');
    assert.deepEqual(of(holder.lines, 'probe'), [], 'a late write was attempted: a lease was lost');
    for (const line of of(holder.lines, 'extend')) {
      assert.deepEqual(line.held, line.keys, 'a claim heartbeat lost a claim');
    }
    assert.deepEqual(ran.outcome, { kind: 'ok' }, `the cycle: ${JSON.stringify(ran.outcome ?? ran.error)}`);
    assert.equal((ran.counts as { succeeded: number }).succeeded, ITEMS);
    assertCommittedOnce([holder], keys);
    await withStore(urls.direct, (store) => assertStoreClean(store, LOOP, ITEMS));
  });

  it('connection resets mid-run: each lease is kept or, if lost, its late write is refused and its item re-run; nothing lost, nothing committed twice', async (t) => {
    const ITEMS = 20;
    const ITEM_MS = LONG ? 60_000 : 12_000;
    const RESETS = LONG ? 15 : 4;
    const RESET_EVERY_MS = 2_500;
    const LINK_MS = 100;
    const LOOP = 'reset-link';
    const keys = Array.from({ length: ITEMS }, (_, i) => `k${i}`);
    const proxy = await startFaultProxy(target);
    proxies.push(proxy);
    // Some latency, so that requests and replies are in flight when the connection goes.
    proxy.setLatency(LINK_MS);
    const run = await startHolderAndPeer(proxy, 'resets', LOOP, ITEMS, ITEM_MS);
    const { holder, peer } = run;

    const resets: Array<{ at: number; connections: number; redialMs: number }> = [];
    for (let i = 0; i < RESETS; i++) {
      await sleep(RESET_EVERY_MS);
      await pollUntil('the holder to be connected through the proxy', () => proxy.open > 0, 10_000);
      const accepted = proxy.stats.accepted;
      const at = Date.now();
      const connections = proxy.resetAll();
      await pollUntil('the holder to dial again', () => proxy.stats.accepted > accepted, 10_000);
      resets.push({ at, connections, redialMs: Date.now() - at });
    }
    const lastResetAt = resets.at(-1)?.at ?? Date.now();
    await run.finish(ITEM_MS + DEFAULT_TTL_MS + 20_000);

    const lost = lostLeases(holder, LOOP);
    const errors = of(holder.lines, 'store.error');
    const commits = assertCommittedOnce([holder, peer], keys);
    const ran = holder.lines.find((l) => l.ev === 'ran');
    const renewals = of(holder.lines, 'renew');
    t.diagnostic(
      `${resets.length} resets every ${RESET_EVERY_MS} ms (+${LINK_MS} ms each way): ` +
        `${resets.reduce((n, r) => n + r.connections, 0)} connections reset; the holder dialled again after ` +
        `${resets.map((r) => `${r.redialMs} ms`).join(', ')}; store calls that failed in the holder: ` +
        `${tally(errors.map((l) => `${l.op} (${String(l.error).replace(/^.*?: [\w.]+: /, '')})`))}; ` +
        `renewals ${renewals.length}, ${renewals.filter((l) => l.ok === true).length} ok; ` +
        `leases lost: ${lost.length}${lost.length ? ` (${tally(lost.map((l) => l.reason))})` : ''}; ` +
        `late writes ${of(holder.lines, 'probe').length}, refused ${of(holder.lines, 'probe').filter((l) => l.ok === false && l.error === undefined).length}; ` +
        `commits by ${tally([...commits.values()].map((l) => l.role))}; holder's cycle: ${JSON.stringify(ran?.outcome ?? ran?.error)}`,
    );

    // The faults really happened, while the items held their leases.
    assert.equal(resets.length, RESETS);
    for (const r of resets) assert.ok(r.connections >= 1, 'a reset found no open connection');
    assert.ok(lastResetAt < run.firstStart + ITEM_MS, 'the resets came while the items ran');
    assertKeptOrFenced(run, LOOP, keys, commits);
    await withStore(run.urls.direct, (store) => assertStoreClean(store, LOOP, ITEMS));
  });

  it('a link that flaps faster than a round trip for longer than the TTL: every lease lost before a peer takes it, late writes refused, items re-run once', async (t) => {
    const ITEMS = 10;
    const LINK_MS = 100;
    const FLAP_EVERY_MS = 150; // < the 200 ms round trip: no reply ever gets through
    const FLAP_MS = DEFAULT_TTL_MS + 3_000;
    const LOOP = 'flapping-link';
    const keys = Array.from({ length: ITEMS }, (_, i) => `k${i}`);
    const proxy = await startFaultProxy(target);
    proxies.push(proxy);
    proxy.setLatency(LINK_MS);
    // The holder's items would run a minute: they end only by losing their leases.
    const run = await startHolderAndPeer(proxy, 'flapping', LOOP, ITEMS, 60_000);
    const { holder, peer } = run;

    const flapFrom = Date.now();
    let resetCount = 0;
    while (Date.now() - flapFrom < FLAP_MS) {
      resetCount += proxy.resetAll();
      await sleep(FLAP_EVERY_MS);
    }
    const flapUntil = Date.now();
    await run.finish(30_000, (lines) => keysOf(of(lines, 'probe')).size === ITEMS);

    const lost = lostLeases(holder, LOOP);
    const commits = assertCommittedOnce([holder, peer], keys);
    const lostAfter = lost.map((l) => l.at - flapFrom);
    const peerAcquired = (key: string) =>
      of(peer.lines, 'acquire').find((l) => l.key === `${LOOP}/${key}` && l.token !== null)?.t ?? Number.NaN;
    const margins = lost.map((l) => peerAcquired(l.key) - l.at);
    const probes = of(holder.lines, 'probe');
    t.diagnostic(
      `link flapping ${flapUntil - flapFrom} ms (a reset every ${FLAP_EVERY_MS} ms, ${resetCount} connections reset, ` +
        `+${LINK_MS} ms each way), lease TTL ${DEFAULT_TTL_MS} ms: ${lost.length}/${ITEMS} leases lost ` +
        `${stats(lostAfter)} after the flapping began (${tally(lost.map((l) => l.reason))}); ` +
        `the peer took each key ${stats(margins)} after the holder gave it up; ` +
        `late writes ${probes.length}, refused ${probes.filter((l) => l.ok === false && l.error === undefined).length} ` +
        `(after ${of(holder.lines, 'probe.error').length} tries the flapping link failed); ` +
        `commits by ${tally([...commits.values()].map((l) => l.role))}`,
    );

    // The link really was cut: no store call of the holder's was answered while it flapped.
    const answered = holder.lines.filter(
      (l) => STORE_CALLS.includes(l.ev) && l.t > flapFrom + 2 * LINK_MS && l.t < flapUntil,
    );
    assert.deepEqual(
      answered.map((l) => `${l.ev} ${l.key ?? ''}`),
      [],
      'store calls answered through the flapping link',
    );
    assert.ok(resetCount > 0, 'no connection was reset');
    assert.deepEqual(
      keys.filter((k) => !lost.some((l) => l.key === k)),
      [],
      'keys whose lease the holder kept although no renewal could get through for longer than the TTL',
    );
    // The holder gave each key up before the peer could take it: never two live holders.
    for (const l of lost) {
      assert.ok(l.at < peerAcquired(l.key), `${l.key}: the peer took the key before the holder gave it up`);
    }
    assertKeptOrFenced(run, LOOP, keys, commits);
    await withStore(run.urls.direct, (store) => assertStoreClean(store, LOOP, ITEMS));
  });
});

interface HolderAndPeer {
  readonly holder: Child;
  readonly peer: Child;
  readonly urls: ReturnType<typeof storeUrls>;
  /** When the holder's first item started. */
  readonly firstStart: number;
  /**
   * Waits until every item was committed (by either), the holder's cycle
   * ended and `more(holder lines)` holds, then stops both gracefully.
   */
  finish(timeoutMs: number, more?: (lines: ChildLine[]) => boolean): Promise<void>;
}

/**
 * A holder on the faulty link (through `proxy`) running `items` items of
 * `itemMs` each, and a peer on a good link (directly on Redis) that re-runs
 * whatever the holder loses (its acts return at once). Both on the default
 * lease TTL; the holder probes a late write on every lease it loses.
 */
async function startHolderAndPeer(
  proxy: FaultProxy,
  name: string,
  loop: string,
  items: number,
  itemMs: number,
): Promise<HolderAndPeer> {
  const urls = storeUrls(name);
  const base: Omit<ChildSpec, 'role' | 'store'> = {
    loop: { name: loop, trigger: { manual: true }, items, concurrency: items, timeout: '5m' },
    recoveryIntervalMs: 500,
  };
  const peer = startChild({ ...base, store: urls.direct, role: 'peer' }, children);
  await peer.waitFor((l) => l.ev === 'ready', 60_000);
  const holder = startChild(
    {
      ...base,
      store: urls.via(proxy),
      role: 'holder',
      act: { sleepMs: itemMs },
      runOnStart: true,
      probeLateWrites: true,
    },
    children,
  );
  await holder.waitUntil(`${items} items in flight`, (l) => keysOf(of(l, 'act.start')).size === items, 30_000);
  const firstStart = Math.min(...of(holder.lines, 'act.start').map((l) => l.t));
  const committed = () => keysOf([holder, peer].flatMap((p) => of(p.lines, 'complete').filter((l) => l.ok === true)));
  return {
    holder,
    peer,
    urls,
    firstStart,
    async finish(timeoutMs, more = () => true) {
      await pollUntil(
        "every item committed, the holder's cycle ended",
        () => committed().size === items && holder.lines.some((l) => l.ev === 'ran') && more(holder.lines),
        timeoutMs,
      );
      await sleep(500); // a late duplicate commit would show up here
      await Promise.all([stopChild(peer), stopChild(holder)]);
    },
  };
}

/** The leases the holder lost, by item key, with the lost token, when, and why. */
function lostLeases(holder: Child, loop: string) {
  return holder.bus('lease.lost').map((l) => ({
    key: String(l.data.key).replace(`${loop}/`, ''),
    token: l.data.token as number,
    at: l.t,
    reason: String(l.data.reason).replace(/:.*$/, ''),
  }));
}

/**
 * Per key: a lease the holder kept means the holder committed the item
 * itself; a lease it lost means it committed nothing under it, its late
 * write reached the store and was refused, and the item re-ran and was
 * committed under a newer token. Tokens increase per key across processes.
 */
function assertKeptOrFenced(
  run: HolderAndPeer,
  loop: string,
  keys: readonly string[],
  commits: Map<string, ChildLine>,
): void {
  const { holder, peer } = run;
  const lost = lostLeases(holder, loop);
  // The third way a kept lease ends: the store's breaker opened during the resets and refused the holder's
  // final writes (renewals, keep-alive calls, still went through), so the holder's cycle reports items it
  // could not acknowledge, and they re-run elsewhere once their claims lapse. Committed once either way
  // (assertCommittedOnce); the holder committed none of them.
  const ran = holder.lines.find((l) => l.ev === 'ran');
  const unacked = /(\d+) item\(s\) could not be acknowledged/.exec(JSON.stringify(ran?.outcome ?? ''));
  for (const key of keys) {
    const commit = commits.get(key) as ChildLine;
    const lostHere = lost.filter((l) => l.key === key);
    if (lostHere.length === 0) {
      if (commit.role !== 'holder') {
        assert.ok(
          unacked,
          `${key}: lease kept, yet committed by ${commit.role}, and the holder acknowledged every item`,
        );
      }
      continue;
    }
    const stale = new Set(lostHere.map((l) => l.token));
    assert.deepEqual(
      of(holder.lines, 'complete').filter((l) => l.key === key && l.ok === true && stale.has(l.token as number)),
      [],
      `${key}: the holder committed under a lost lease`,
    );
    const probes = of(holder.lines, 'probe').filter((l) => l.key === key);
    assert.ok(probes.length > 0, `${key}: no late write was tried after the lease was lost`);
    assert.deepEqual(
      probes.filter((l) => l.ok !== false || l.error !== undefined).map((l) => `${l.token}: ${l.ok} ${l.error ?? ''}`),
      [],
      `${key}: a late write under a lost lease was accepted, or never reached the store`,
    );
    const reruns = [holder, peer].flatMap((p) => of(p.lines, 'act.start')).filter((l) => l.key === key);
    assert.ok(reruns.length >= 2, `${key}: lost its lease but was never re-run`);
    assert.ok(
      (commit.token as number) > Math.max(...stale),
      `${key}: committed under token ${commit.token}, not newer than the lost ${[...stale].join(', ')}`,
    );
  }
  const grants = [holder, peer]
    .flatMap((p) => of(p.lines, 'acquire'))
    .filter((l) => l.token !== null)
    .sort((a, b) => a.t - b.t);
  for (const key of keys) {
    const seq = grants.filter((g) => g.key === `${loop}/${key}`).map((g) => g.token as number);
    for (let j = 1; j < seq.length; j++) {
      assert.ok((seq[j] as number) > (seq[j - 1] as number), `${key}: tokens ${seq.join(' -> ')}`);
    }
  }
}
