import { createRequire } from 'node:module';
import type { Entropy } from './entropy.ts';

/**
 * node:crypto, loaded at the first id: a process that draws none (`autoloop
 * status`, `import('autoloop')`) does not load it (~4 ms on Node 20).
 */
let randomFill: ((buffer: Buffer) => Buffer) | undefined;

/** Bytes drawn from the OS per refill: 512 ids per system call. */
const POOL_BYTES = 4096;
const ID_BYTES = 8;

/**
 * The real entropy: the one place that calls `Math.random` and `node:crypto`.
 * Jitter uses `Math.random` (fast, and backoff needs no secrecy); ids come
 * from the OS generator, drawn in 4 KiB batches because the memory store
 * asks for one per queued item.
 */
export class SystemEntropy implements Entropy {
  readonly #pool = Buffer.alloc(POOL_BYTES);
  #offset = POOL_BYTES;

  random(): number {
    return Math.random();
  }

  id(): string {
    if (this.#offset + ID_BYTES > POOL_BYTES) {
      randomFill ??= (createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')).randomFillSync;
      randomFill(this.#pool);
      this.#offset = 0;
    }
    const start = this.#offset;
    this.#offset += ID_BYTES;
    return this.#pool.toString('hex', start, start + ID_BYTES);
  }
}

/** The process-wide real entropy. Its only state is a pool of unused random bytes, so sharing it is safe. */
export const systemEntropy: Entropy = new SystemEntropy();
