/**
 * Random sequences of lease operations (acquire / renew / release / sweep,
 * and fenced completes) by 3 owners on 2 keys, with time advancing by random
 * amounts, run against every backend and checked after every step against a
 * tiny model of what DESIGN.md's "Guarantees" promise:
 *
 * - at most one live holder per key at any time;
 * - a lease released or lost (expired, taken over, swept) is never renewed
 *   successfully afterwards;
 * - a completion whose fence token is older than the key's latest token is
 *   always refused, and writes nothing;
 * - tokens strictly increase per key.
 *
 * Beyond those invariants the model predicts every answer exactly, so any
 * difference between a backend and the port's contract fails the property.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { MemoryStore } from '../src/storage/memory/memory-store.ts';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import type { Lease, Store } from '../src/storage/store.ts';
import { item, result } from './storage-contract/fixtures.ts';

const OWNERS = ['w0', 'w1', 'w2'] as const;
const KEYS = 2;
const TTL_MS = 100;
const RUNS = 200;

type OpKind = 'acquire' | 'renew' | 'release' | 'complete' | 'sweep';

interface Op {
  readonly kind: OpKind;
  readonly owner: number;
  readonly key: number;
  /** How far time moves before the operation, in ms: often past a TTL, sometimes exactly onto an expiry. */
  readonly advanceMs: number;
  /** Which token renew/release/complete use: 0 the latest of the list, n the n-th before (clamped). */
  readonly age: number;
  /** The list: false, the tokens this owner was given for the key; true, every token the key was given. */
  readonly anyOwner: boolean;
}

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom<OpKind>(
    'acquire',
    'acquire',
    'renew',
    'renew',
    'release',
    'release',
    'complete',
    'complete',
    'sweep',
  ),
  owner: fc.integer({ min: 0, max: OWNERS.length - 1 }),
  key: fc.integer({ min: 0, max: KEYS - 1 }),
  advanceMs: fc.oneof(fc.integer({ min: 0, max: 150 }), fc.constantFrom(0, 1, TTL_MS - 1, TTL_MS)),
  age: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 })),
  anyOwner: fc.constantFrom(false, false, true),
});

/** What the model knows of one key. */
interface KeyModel {
  /** The lease as the store should hold it (possibly expired), or undefined when free. */
  holder: Lease | undefined;
  /** The latest token given for the key; tokens handed out must exceed it. */
  latest: number;
}

/**
 * One property run: a fresh namespace of keys (and a loop for the queue) in
 * the shared store, and a start time past every earlier run's leases.
 */
let runs = 0;

async function check(store: Store, ops: readonly Op[]): Promise<void> {
  runs++;
  const ns = `run${runs}/`;
  const keyName = (k: number) => `${ns}k${k}`;
  let now = runs * 1_000_000;
  const model: KeyModel[] = Array.from({ length: KEYS }, () => ({ holder: undefined, latest: 0 }));
  /** Tokens each owner was given per key, oldest first; and every token per key (index OWNERS.length). */
  const given = [...OWNERS, 'any'].map(() => Array.from({ length: KEYS }, (): number[] => []));
  /** `${key}#${token}` of every lease released or lost: renewing one must fail. */
  const dead = new Set<string>();
  const tag = (lease: Lease) => `${lease.key}#${lease.token}`;

  for (const [step, op] of ops.entries()) {
    now += op.advanceMs;
    const owner = OWNERS[op.owner] as string;
    const key = keyName(op.key);
    const m = model[op.key] as KeyModel;
    const mine = given[op.owner]?.[op.key] ?? [];
    const all = given[OWNERS.length]?.[op.key] ?? [];
    const pool = op.anyOwner ? all : mine;
    const token = pool[Math.max(0, pool.length - 1 - op.age)] ?? 0;
    const where = `step ${step} ${op.kind} ${owner} ${key} token ${token} at ${now}`;
    for (const k of model) if (k.holder && k.holder.expiresAt <= now) dead.add(tag(k.holder));

    switch (op.kind) {
      case 'acquire': {
        const got = await store.leases.acquire(key, owner, TTL_MS, now);
        if (m.holder && m.holder.expiresAt > now) {
          assert.equal(got, undefined, `${where}: a live lease is held by ${m.holder.owner}`);
          break;
        }
        assert.ok(got, `${where}: the key is free`);
        assert.ok(got.token > m.latest, `${where}: token ${got.token} not above ${m.latest}`);
        const lease: Lease = { key, owner, token: m.latest + 1, acquiredAt: now, expiresAt: now + TTL_MS };
        assert.deepEqual(got, m.holder ? { ...lease, tookOverFrom: m.holder.owner } : lease, where);
        if (m.holder) dead.add(tag(m.holder));
        m.holder = lease;
        m.latest = lease.token;
        mine.push(lease.token);
        all.push(lease.token);
        break;
      }
      case 'renew': {
        const expiresAt = await store.leases.renew(key, owner, token, TTL_MS, now);
        const h = m.holder;
        const live = h !== undefined && h.owner === owner && h.token === token && h.expiresAt > now;
        if (dead.has(`${key}#${token}`))
          assert.equal(expiresAt, undefined, `${where}: renewed a released or lost lease`);
        assert.equal(expiresAt, live ? now + TTL_MS : undefined, where);
        if (live) m.holder = { ...h, expiresAt: now + TTL_MS };
        break;
      }
      case 'release': {
        const released = await store.leases.release(key, owner, token);
        const h = m.holder;
        const held = h !== undefined && h.owner === owner && h.token === token;
        assert.equal(released, held, where);
        if (held) {
          dead.add(tag(h));
          m.holder = undefined;
        }
        break;
      }
      case 'complete': {
        const cycleId = `${ns}c${step}`;
        const itemKey = `${ns}i${step}`;
        const [row] = await store.queue.enqueue(
          ns,
          cycleId,
          [item(itemKey, { idempotencyKey: itemKey })],
          claimOf(owner),
          now,
        );
        assert.ok(row, where);
        const done = await store.queue.complete(row.id, owner, result(cycleId, itemKey), { key, token });
        if (token < m.latest) assert.equal(done, false, `${where}: a stale fence (latest ${m.latest}) was accepted`);
        assert.equal(done, token >= m.latest, where);
        assert.equal((await store.cycles.items(cycleId)).length, done ? 1 : 0, `${where}: result written`);
        const queued = (await store.queue.list(ns)).some((r) => r.id === row.id);
        assert.equal(queued, !done, `${where}: item still queued`);
        // Clear the refused item, so the queue stays small: without a fence, the claim alone decides.
        if (!done) assert.equal(await store.queue.complete(row.id, owner, result(cycleId, itemKey)), true, where);
        break;
      }
      case 'sweep': {
        const swept = (await store.leases.sweep(now)).filter((l) => l.key.startsWith(ns));
        const expired = model.flatMap((k) => (k.holder && k.holder.expiresAt <= now ? [k.holder] : []));
        assert.deepEqual(swept, expired, where);
        for (const k of model) {
          if (k.holder && k.holder.expiresAt <= now) k.holder = undefined;
        }
        break;
      }
    }

    const live = await store.leases.list(now, { prefix: ns });
    assert.equal(new Set(live.map((l) => l.key)).size, live.length, `${where}: two live holders of one key`);
    assert.deepEqual(
      live,
      model.flatMap((k) => (k.holder && k.holder.expiresAt > now ? [k.holder] : [])),
      `${where}: live leases`,
    );
    for (const [k, km] of model.entries()) {
      assert.equal(await store.leases.currentToken(keyName(k)), km.latest, `${where}: currentToken of k${k}`);
    }
  }
}

function claimOf(owner: string) {
  return { owner, until: Number.MAX_SAFE_INTEGER };
}

const root = mkdtempSync(join(tmpdir(), 'autoloop-lease-props-'));
after(() => rmSync(root, { recursive: true, force: true }));

const backends: Array<[string, () => Store]> = [
  ['MemoryStore', () => new MemoryStore()],
  ['SqliteStore', () => SqliteStore.open(join(root, 'props.db'))],
];

describe('lease properties', () => {
  for (const [name, open] of backends) {
    it(`${name}: random acquire/renew/release/sweep/fenced complete sequences keep the lease guarantees`, async () => {
      // One store per backend; each run works in its own key namespace and time range.
      const store = open();
      try {
        await fc.assert(
          fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 60, size: 'max' }), (ops) => check(store, ops)),
          { numRuns: RUNS },
        );
      } finally {
        await store.close();
      }
    });
  }
});
