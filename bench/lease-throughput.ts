/**
 * Lease acquire + release pairs per second through the SQLite store, one
 * process, on a fresh file (WAL, synchronous=NORMAL, autoloop's default).
 * Each acquire and each release is one `BEGIN IMMEDIATE` transaction (they
 * are awaited one by one, so no two share a group commit): acquire reads the
 * key's lease row and writes it with the next token; release marks the row
 * free, keeping its token (one row per key, see MIGRATIONS). Also the CPU
 * time this process spent per pair (user + system).
 *
 * - distinct keys: 20,000 keys leased once each, so every acquire inserts a
 *   new lease row (a work item's key per item);
 * - repeated keys: one key leased 20,000 times, so every acquire updates the
 *   same row (a singleton cycle, or a symbol leased every minute).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { fmt, heading, line, now } from './report.ts';

const PAIRS = 20_000;
const TTL_MS = 10_000;

/** Runs PAIRS acquire+release pairs on `keyOf(i)`; returns the elapsed ms and this process's CPU µs. */
async function pairs(path: string, keyOf: (i: number) => string): Promise<{ ms: number; cpuUs: number }> {
  const store = SqliteStore.open(path);
  try {
    const start = now();
    const cpu = process.cpuUsage();
    for (let i = 0; i < PAIRS; i++) {
      const key = keyOf(i);
      const lease = await store.leases.acquire(key, 'bench', TTL_MS, i);
      if (!lease) throw new Error(`acquire ${key}: refused`);
      if (!(await store.leases.release(key, 'bench', lease.token))) throw new Error(`release ${key}: refused`);
    }
    const spent = process.cpuUsage(cpu);
    return { ms: now() - start, cpuUs: spent.user + spent.system };
  } finally {
    await store.close();
  }
}

export async function benchLeaseThroughput(): Promise<Record<string, number>> {
  heading(`lease acquire + release: ${fmt(PAIRS)} pairs, one process (SQLite, WAL, synchronous=NORMAL)`);
  const dir = mkdtempSync(join(tmpdir(), 'autoloop-bench-leases-'));
  try {
    const distinct = await pairs(join(dir, 'distinct.db'), (i) => `key-${i}`);
    const repeated = await pairs(join(dir, 'repeated.db'), () => 'key');
    const result = {
      distinctKeysPairsPerS: (PAIRS / distinct.ms) * 1000,
      distinctKeysCpuUsPerPair: distinct.cpuUs / PAIRS,
      repeatedKeyPairsPerS: (PAIRS / repeated.ms) * 1000,
      repeatedKeyCpuUsPerPair: repeated.cpuUs / PAIRS,
    };
    line(
      `distinct keys (new lease row each)     ${fmt(result.distinctKeysPairsPerS)} pairs/s   CPU ${fmt(result.distinctKeysCpuUsPerPair)} µs/pair`,
    );
    line(
      `one key, repeated (its row updated)    ${fmt(result.repeatedKeyPairsPerS)} pairs/s   CPU ${fmt(result.repeatedKeyCpuUsPerPair)} µs/pair`,
    );
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// `node --import tsx bench/lease-throughput.ts` runs it alone; bench/run.ts imports it.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await benchLeaseThroughput();
