/**
 * `autoloop simulate` tells a broken guarantee (a duplicate) from an
 * at-least-once re-run: a store double that grants a lease over another
 * owner's valid one and ignores fences makes it report duplicates and fail
 * the `duplicates` SLO, while a result whose write failed in a store outage
 * is held and written with its fence once the store answers, on a real
 * SQLite file, so the item does not run again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfigText } from '../src/config/load-config.ts';
import { simulate } from '../src/simulation/simulation.ts';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../src/storage/store.ts';
import { storeDouble } from './support/store-double.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'autoloop-simulate-dup-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const MINUTE = 60_000;

/** Six items every 10 s whose acts take 2-6 s: store outages land while results are being written. */
const CONFIG = `
store: memory://
leases: { ttl: 30s }
loops:
  fetch:
    trigger: { interval: 10s }
    items: [a, b, c, d, e, f]
    act: { command: "false" }
simulate:
  loops:
    fetch: { latency: { min: 2s, max: 6s } }
slo: { lost: 0, duplicates: 0 }
`;

const config = () => parseConfigText(CONFIG, { env: {}, file: join(dir, 'autoloop.yaml') });

/** A store that skips the fencing checks: a lease is granted over another owner's valid one, fences are ignored. */
function skipFencing(store: Store): Store {
  const { leases, queue } = store;
  return storeDouble(store, {
    leases: {
      acquire: async (key, owner, ttlMs, now) => {
        const granted = await leases.acquire(key, owner, ttlMs, now);
        if (granted) return granted;
        const [holder] = (await leases.list(now, { prefix: key })).filter((l) => l.key === key);
        if (holder) await leases.release(key, holder.owner, holder.token);
        return leases.acquire(key, owner, ttlMs, now);
      },
    },
    queue: {
      complete: async (id, owner, result, fence, options) => {
        if (fence && options?.releaseLease) await leases.release(fence.key, owner, fence.token);
        return queue.complete(id, owner, result);
      },
    },
  });
}

describe('autoloop simulate: duplicates against re-runs', { timeout: 300_000 }, () => {
  it('a store that skips the fencing check: duplicates reported, the duplicates SLO fails', async () => {
    // Frozen past the claim's TTL: a peer adopts the items while the frozen holder's leases are still valid.
    const freezes = {
      name: 'freezes',
      faults: [2, 5, 8].map((m) => ({
        kind: 'freeze' as const,
        at: m * MINUTE + 3_000,
        instance: 1,
        for: { minMs: 45_000, maxMs: 45_000 },
      })),
    };
    const loaded = await config();
    const run = (wrapStore?: (s: Store) => Store) =>
      simulate({ config: loaded, durationMs: 12 * MINUTE, instances: 2, seed: 2, faults: freezes, wrapStore });
    const broken = (await run(skipFencing)).report;
    assert.ok(broken.total.items.overlappingLeases >= 1, JSON.stringify(broken.total.items));
    assert.ok(broken.total.items.duplicates >= broken.total.items.overlappingLeases);
    const check = broken.slo.checks.find((c) => c.key === 'duplicates');
    assert.equal(check?.ok, false);
    assert.equal(broken.slo.ok, false);
    // The same faults on a correct store: the leases hold, nothing is a duplicate.
    const correct = (await run()).report;
    assert.equal(correct.total.items.duplicates, 0, JSON.stringify(correct.total.items));
    assert.equal(correct.total.items.lost, 0);
  });

  it('a result whose write failed in a store outage is written with its fence once the store answers (SQLite)', async () => {
    const outages = {
      name: 'outages',
      faults: [3, 6, 9, 12].map((m) => ({
        kind: 'store-outage' as const,
        at: m * MINUTE + 1_500,
        for: { minMs: 15_000, maxMs: 15_000 },
      })),
    };
    const file = join(dir, 'state.db');
    const store = SqliteStore.open(file);
    try {
      const { report } = await simulate({
        config: await config(),
        durationMs: 15 * MINUTE,
        instances: 2,
        seed: 3,
        faults: outages,
        store,
        settleRounds: 3,
      });
      const { items } = report.total;
      assert.ok(items.succeeded > 400, `items ran: ${JSON.stringify(items)}`);
      assert.equal(items.lost, 0);
      assert.equal(items.duplicates, 0);
      assert.equal(items.reRunCauses.storeOutage, 0, `re-runs after a failed write: ${JSON.stringify(items)}`);
      assert.equal(report.slo.ok, true, JSON.stringify(report.slo.checks));
    } finally {
      await store.close();
    }
  });
});
