import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from '../storage/memory/memory-store.ts';
import type { LeaseStore } from '../storage/store.ts';
import { VirtualClock } from '../time/virtual-clock.ts';
import { LeaseManager } from './lease-manager.ts';

function setup() {
  const clock = new VirtualClock({ now: Date.UTC(2026, 0, 1) });
  const store = new MemoryStore();
  const lost: string[] = [];
  let renewals = 0;
  const leases = store.leases;
  const counting: LeaseStore = {
    acquire: (...args) => leases.acquire(...args),
    renew: (...args) => {
      renewals++;
      return leases.renew(...args);
    },
    release: (...args) => leases.release(...args),
    sweep: (...args) => leases.sweep(...args),
    list: (...args) => leases.list(...args),
    currentToken: (...args) => leases.currentToken(...args),
  };
  const manager = new LeaseManager({
    store: counting,
    clock,
    owner: 'me',
    ttlMs: 3000,
    onLost: (key, _token, reason) => lost.push(`${key}: ${reason}`),
  });
  return { clock, store, manager, lost, renewals: () => renewals };
}

describe('LeaseManager.releaseWith: the lease freed by the holder last write', () => {
  it('stops renewing before the write is sent and forgets the lease once it resolves', async () => {
    const { clock, store, manager, lost, renewals } = setup();
    const lease = await manager.acquire('k');
    assert.ok(lease);
    await clock.advance(1000); // one renewal at ttl/3
    assert.equal(renewals(), 1);
    let finish!: () => void;
    const written = manager.releaseWith(lease, async () => {
      await new Promise<void>((resolve) => {
        finish = resolve;
      });
      return store.leases.release('k', 'me', lease.token);
    });
    await clock.advance(5000); // past the TTL while the write is in flight: no renewal, no loss
    assert.equal(renewals(), 1);
    assert.equal(lease.state, 'held');
    finish();
    assert.equal(await written, true);
    assert.equal(lease.state, 'released');
    assert.equal(manager.active, 0);
    await clock.advance(10_000);
    assert.deepEqual(lost, []);
    assert.equal(renewals(), 1);
  });

  it('keeps the lease held when the write fails, for a plain release to free', async () => {
    const { clock, store, manager } = setup();
    const lease = await manager.acquire('k');
    assert.ok(lease);
    await assert.rejects(
      manager.releaseWith(lease, async () => {
        throw new Error('store down');
      }),
      /store down/,
    );
    assert.equal(lease.state, 'held');
    assert.equal(manager.active, 1);
    assert.equal((await store.leases.list(clock.now())).length, 1);
    await manager.release(lease);
    assert.equal(lease.state, 'released');
    assert.deepEqual(await store.leases.list(clock.now()), []);
  });
});
