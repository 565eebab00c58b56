/**
 * Lease acquire + release pairs per second through the SQLite store, one
 * process, on a fresh file (WAL, synchronous=NORMAL, autoloop's default).
 * Each acquire is one `BEGIN IMMEDIATE` transaction (read the lease, bump the
 * key's token, write the lease); each release is one autocommit DELETE.
 *
 * - distinct keys: 20,000 keys leased once each, so every acquire inserts a
 *   new token row (a work item's key per item);
 * - repeated keys: one key leased 20,000 times, so every acquire updates the
 *   same token row (a singleton cycle, or a symbol leased every minute).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { fmt, heading, line, now } from './report.ts';

const PAIRS = 20_000;
const TTL_MS = 10_000;

/** Runs PAIRS acquire+release pairs on `keyOf(i)`; returns the elapsed ms. */
async function pairs(path: string, keyOf: (i: number) => string): Promise<number> {
  const store = SqliteStore.open(path);
  try {
    const start = now();
    for (let i = 0; i < PAIRS; i++) {
      const key = keyOf(i);
      const lease = await store.leases.acquire(key, 'bench', TTL_MS, i);
      if (!lease) throw new Error(`acquire ${key}: refused`);
      if (!(await store.leases.release(key, 'bench', lease.token))) throw new Error(`release ${key}: refused`);
    }
    return now() - start;
  } finally {
    await store.close();
  }
}

export async function benchLeaseThroughput(): Promise<Record<string, number>> {
  heading(`lease acquire + release: ${fmt(PAIRS)} pairs, one process (SQLite, WAL, synchronous=NORMAL)`);
  const dir = mkdtempSync(join(tmpdir(), 'autoloop-bench-leases-'));
  try {
    const distinctMs = await pairs(join(dir, 'distinct.db'), (i) => `key-${i}`);
    const repeatedMs = await pairs(join(dir, 'repeated.db'), () => 'key');
    const result = {
      distinctKeysPairsPerS: (PAIRS / distinctMs) * 1000,
      repeatedKeyPairsPerS: (PAIRS / repeatedMs) * 1000,
    };
    line(`distinct keys (new token row each)      ${fmt(result.distinctKeysPairsPerS)} pairs/s`);
    line(`one key, repeated (token row updated)   ${fmt(result.repeatedKeyPairsPerS)} pairs/s`);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// `node --import tsx bench/lease-throughput.ts` runs it alone; bench/run.ts imports it.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await benchLeaseThroughput();
