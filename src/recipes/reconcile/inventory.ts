/**
 * The inventory port: what a data store HAS. Adapters: a local directory
 * (directory-inventory.ts), S3 by listing (s3-listing-inventory.ts), S3
 * Inventory reports (s3-inventory-report.ts), a command printing JSON lines
 * (command-inventory.ts), and one in memory for tests (memory-inventory.ts).
 *
 * Keys are relative to the inventory's root (the directory, or the S3
 * prefix), with `/` separators, so one coverage spec fits a directory and a
 * bucket alike.
 */
import type { HaveIndex } from './have-index.ts';

/** One object as an inventory reports it. */
export interface InventoryObject {
  readonly key: string;
  /** Bytes. */
  readonly size: number;
  /** Last modification, epoch ms. */
  readonly modifiedAt: number;
}

/**
 * A source of HAVE. Three members, each a plain async call:
 *
 * - `scan` lists every object under the root into a {@link HaveIndex}. It
 *   rejects (naming the inventory) when the source cannot be read; a partial
 *   listing is never returned as if it were whole. It aborts with `signal`.
 * - `stat` answers for one key, `undefined` when it does not exist: the
 *   check before a collector runs, so a key collected meanwhile (by a run
 *   that crashed after writing, or by hand) is not collected again.
 * - `probe` resolves when the source is reachable (the health check), and
 *   rejects with why not.
 *
 * Left out on purpose: writes (collectors write, not the inventory),
 * watching for changes, and any notion of connections or credentials
 * (each adapter takes its client).
 */
export interface Inventory {
  /** For logs and status: `dir ./data`, `s3://bucket/prefix`. */
  readonly description: string;
  scan(signal: AbortSignal): Promise<HaveIndex>;
  stat(key: string, signal: AbortSignal): Promise<InventoryObject | undefined>;
  probe(signal: AbortSignal): Promise<void>;
  /** Where a collector writes `key` (a path or an `s3://` URL), given to its command as `{path}`. */
  locate(key: string): string;
}

/** What the store keeps of the last scan (the dashboard and CLI show it without rescanning). */
export interface InventorySummary {
  readonly description: string;
  readonly objects: number;
  readonly bytes: number;
  /** When the scan finished, epoch ms. */
  readonly scannedAt: number;
  readonly tookMs: number;
}

/** Raised when an inventory cannot be read; the message names the inventory. */
export class InventoryError extends Error {
  override name = 'InventoryError';
}
