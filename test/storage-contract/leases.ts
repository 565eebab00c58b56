import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Store } from '../../src/storage/store.ts';

/**
 * The LeaseStore's promises (src/storage/store.ts). Expiry is `expiresAt <=
 * now`, as for queue claims: a lease is live while `expiresAt > now`.
 *
 * Token values are stated relative to `currentToken` of a key never leased
 * (its base): 0 on memory and SQLite, the epoch base on Redis, whose tokens
 * must also grow across a server restart (src/storage/redis/fencing-epoch.ts).
 */
export function leaseContract(get: () => Store): void {
  describe('leases', () => {
    it('acquire takes a free key until now + ttl, with token base + 1 and no tookOverFrom', async () => {
      const leases = get().leases;
      const base = await leases.currentToken('k');
      assert.ok(Number.isSafeInteger(base) && base >= 0, 'never leased: a base token');
      const lease = await leases.acquire('k', 'w1', 1000, 5000);
      assert.deepEqual(lease, { key: 'k', owner: 'w1', token: base + 1, acquiredAt: 5000, expiresAt: 6000 });
      assert.equal(await leases.currentToken('k'), base + 1);
    });

    it('acquire returns undefined while another owner holds the key unexpired, and changes nothing', async () => {
      const leases = get().leases;
      const held = await leases.acquire('k', 'w1', 1000, 5000);
      assert.equal(await leases.acquire('k', 'w2', 1000, 5000), undefined);
      assert.equal(await leases.acquire('k', 'w2', 50_000, 5999), undefined);
      assert.equal(await leases.currentToken('k'), held!.token, 'a refused acquire gives out no token');
      assert.deepEqual(await leases.list(5999), [held]);
    });

    it('leases are not re-entrant: the holder acquiring its own unexpired key gets undefined', async () => {
      const leases = get().leases;
      const held = await leases.acquire('k', 'w1', 1000, 5000);
      assert.equal(await leases.acquire('k', 'w1', 1000, 5500), undefined);
      assert.deepEqual(await leases.list(5500), [held]);
    });

    it('acquire takes over an expired, unreleased lease, naming its owner in tookOverFrom', async () => {
      const leases = get().leases;
      const first = await leases.acquire('k', 'w1', 1000, 5000);
      // Expired at exactly expiresAt, before any sweep.
      const taken = await leases.acquire('k', 'w2', 1000, 6000);
      assert.deepEqual(taken, {
        key: 'k',
        owner: 'w2',
        token: first!.token + 1,
        acquiredAt: 6000,
        expiresAt: 7000,
        tookOverFrom: 'w1',
      });
      // The owner whose own lease expired takes it over too: it is no longer "already held".
      const again = await leases.acquire('k', 'w2', 1000, 9000);
      assert.equal(again?.tookOverFrom, 'w2');
      assert.equal(again?.token, first!.token + 2);
    });

    it('acquire after a release or a sweep is not a takeover', async () => {
      const leases = get().leases;
      const first = await leases.acquire('k', 'w1', 1000, 5000);
      assert.equal(await leases.release('k', 'w1', first!.token), true);
      const second = await leases.acquire('k', 'w2', 1000, 5100);
      assert.equal(second && 'tookOverFrom' in second, false);
      await leases.sweep(7000);
      const third = await leases.acquire('k', 'w3', 1000, 7000);
      assert.deepEqual(third, { key: 'k', owner: 'w3', token: first!.token + 2, acquiredAt: 7000, expiresAt: 8000 });
    });

    it('tokens strictly increase per key across release, expiry, takeover and sweep; keys count apart', async () => {
      const leases = get().leases;
      const tokens: number[] = [];
      const take = async (owner: string, now: number) => {
        const lease = await leases.acquire('k', owner, 100, now);
        assert.ok(lease, `acquire by ${owner} at ${now}`);
        tokens.push(lease.token);
        return lease;
      };
      const base = await leases.currentToken('k');
      const a = await take('w1', 0);
      await leases.release('k', 'w1', a.token); // release
      await take('w1', 10); // expires at 110
      await take('w2', 200); // takeover of an expired lease
      await leases.sweep(1000); // sweep
      const d = await take('w1', 1000);
      await leases.release('k', 'w1', d.token);
      await take('w3', 1000);
      assert.deepEqual(
        tokens.map((token) => token - base),
        [1, 2, 3, 4, 5],
      );
      assert.equal(await leases.currentToken('k'), base + 5);
      const otherBase = await leases.currentToken('other');
      assert.equal((await leases.acquire('other', 'w1', 100, 0))?.token, otherBase + 1);
      assert.equal(await leases.currentToken('k'), base + 5);
    });

    it('renew by the owner with its token extends an unexpired lease to now + ttl', async () => {
      const leases = get().leases;
      const lease = await leases.acquire('k', 'w1', 1000, 5000);
      assert.equal(await leases.renew('k', 'w1', lease!.token, 3000, 5900), 8900);
      assert.deepEqual(await leases.list(8899), [{ ...lease, expiresAt: 8900 }]);
      assert.equal(await leases.acquire('k', 'w2', 1000, 8899), undefined, 'still held after the old expiry');
      assert.equal(await leases.currentToken('k'), lease!.token, 'renew gives out no token');
    });

    it('renew never extends someone else lease: wrong owner or wrong token gets undefined', async () => {
      const leases = get().leases;
      const lease = await leases.acquire('k', 'w1', 1000, 5000);
      assert.equal(await leases.renew('k', 'w2', lease!.token, 3000, 5500), undefined);
      assert.equal(await leases.renew('k', 'w1', lease!.token + 1, 3000, 5500), undefined);
      assert.equal(await leases.renew('k', 'w1', lease!.token - 1, 3000, 5500), undefined);
      assert.equal(await leases.renew('nope', 'w1', lease!.token, 3000, 5500), undefined);
      assert.deepEqual(await leases.list(5500), [lease]);
    });

    it('renew of an expired lease gets undefined, even when nobody took it over', async () => {
      const leases = get().leases;
      const lease = await leases.acquire('k', 'w1', 1000, 5000);
      assert.equal(await leases.renew('k', 'w1', lease!.token, 1000, 6000), undefined);
      assert.deepEqual(await leases.list(5999), [lease], 'the failed renew left the lease as it was');
      assert.equal(await leases.renew('k', 'w1', lease!.token, 1000, 7000), undefined);
    });

    it('renew after a release or a takeover gets undefined and leaves the new holder alone', async () => {
      const leases = get().leases;
      const released = await leases.acquire('k', 'w1', 1000, 5000);
      await leases.release('k', 'w1', released!.token);
      assert.equal(await leases.renew('k', 'w1', released!.token, 1000, 5100), undefined);
      assert.deepEqual(await leases.list(5100), []);

      const lost = await leases.acquire('k', 'w1', 1000, 6000);
      const taker = await leases.acquire('k', 'w2', 1000, 7000);
      assert.equal(await leases.renew('k', 'w1', lost!.token, 1000, 7500), undefined);
      const { tookOverFrom: _, ...held } = taker!;
      assert.deepEqual(await leases.list(7500), [held]);
    });

    it('release frees the key only for its owner with its token, once', async () => {
      const leases = get().leases;
      const lease = await leases.acquire('k', 'w1', 1000, 5000);
      assert.equal(await leases.release('k', 'w2', lease!.token), false);
      assert.equal(await leases.release('k', 'w1', lease!.token + 1), false);
      assert.equal(await leases.release('nope', 'w1', lease!.token), false);
      assert.deepEqual(await leases.list(5000), [lease]);
      assert.equal(await leases.release('k', 'w1', lease!.token), true);
      assert.equal(await leases.release('k', 'w1', lease!.token), false);
      assert.deepEqual(await leases.list(5000), []);
      assert.equal(await leases.currentToken('k'), lease!.token, 'release keeps the token counter');
    });

    it('release by a holder whose lease was taken over returns false and frees nothing', async () => {
      const leases = get().leases;
      const lost = await leases.acquire('k', 'w1', 1000, 5000);
      const taker = await leases.acquire('k', 'w2', 1000, 6000);
      assert.equal(await leases.release('k', 'w1', lost!.token), false);
      assert.equal(await leases.acquire('k', 'w3', 1000, 6500), undefined, 'w2 still holds it');
      assert.equal(await leases.release('k', 'w2', taker!.token), true);
    });

    it('release by the holder of an expired lease nobody took over frees it (the record is still its own)', async () => {
      const leases = get().leases;
      const lease = await leases.acquire('k', 'w1', 1000, 5000);
      assert.equal(await leases.release('k', 'w1', lease!.token), true);
      assert.deepEqual(await leases.sweep(10_000), []);
    });

    it('sweep removes the leases expired at now and returns them by key; live leases stay', async () => {
      const leases = get().leases;
      const b = await leases.acquire('b', 'w1', 1000, 0); // expires 1000
      const a = await leases.acquire('a', 'w2', 2000, 0); // expires 2000
      const c = await leases.acquire('c', 'w1', 5000, 0); // expires 5000
      assert.deepEqual(await leases.sweep(999), []);
      assert.deepEqual(await leases.sweep(2000), [a, b]);
      assert.deepEqual(await leases.sweep(2000), [], 'swept leases are gone');
      assert.deepEqual(await leases.list(0), [c]);
      assert.equal(await leases.currentToken('a'), a!.token, 'sweep keeps the token counter');
      assert.equal(await leases.renew('b', 'w1', b!.token, 1000, 500), undefined, 'a swept lease cannot be renewed');
    });

    it('list returns the leases live at now, ordered by key, optionally by key prefix', async () => {
      const leases = get().leases;
      const made = [];
      for (const [key, ttl] of [
        ['sym/ETH', 1000],
        ['sym/BTC', 3000],
        ['other/x', 3000],
        ['sym/SOL', 3000],
        ['sym%_x', 3000],
        ['sym', 3000],
      ] as const) {
        made.push(await leases.acquire(key, 'w1', ttl, 0));
      }
      const keys = async (now: number, prefix?: string) =>
        (await leases.list(now, prefix === undefined ? undefined : { prefix })).map((l) => l.key);
      assert.deepEqual(await keys(0), ['other/x', 'sym', 'sym%_x', 'sym/BTC', 'sym/ETH', 'sym/SOL']);
      assert.deepEqual(await keys(1000), ['other/x', 'sym', 'sym%_x', 'sym/BTC', 'sym/SOL'], 'expired at 1000');
      assert.deepEqual(await keys(0, 'sym/'), ['sym/BTC', 'sym/ETH', 'sym/SOL']);
      assert.deepEqual(await keys(0, 'sym%'), ['sym%_x'], 'the prefix is literal, not a pattern');
      assert.deepEqual(await keys(0, 'SYM/'), [], 'the prefix is case-sensitive');
      assert.deepEqual(await keys(0, ''), await keys(0));
      assert.deepEqual(await keys(3000), []);
      assert.deepEqual((await leases.list(0, { prefix: 'other/' }))[0], made[2]);
    });

    it('list leaves out released leases', async () => {
      const leases = get().leases;
      const a = await leases.acquire('a', 'w1', 1000, 0);
      const b = await leases.acquire('b', 'w1', 1000, 0);
      await leases.release('a', 'w1', a!.token);
      assert.deepEqual(await leases.list(0), [b]);
    });
  });
}
