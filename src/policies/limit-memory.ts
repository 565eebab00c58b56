import type { DocumentStore } from '../storage/store.ts';
import type { Clock } from '../time/clock.ts';

/** The document namespace the store-backed {@link LimitMemory} writes, one document per loop. */
export const LIMIT_MEMORY_NAMESPACE = 'adaptive';

/**
 * Where a loop's adaptive concurrency limit survives a restart, so that the
 * next run starts where the last one had settled instead of at `max`.
 *
 * Deliberately left out: which process wrote last (every process running
 * the loop saves its own limit; the last write wins), and history.
 *
 * @example
 * const memory = documentLimitMemory(store.documents, clock);
 * const limit = await memory.load('signals'); // undefined on a first start
 */
export interface LimitMemory {
  /** The limit last saved for `loop`, or undefined when none was (or it could not be read). Never rejects. */
  load(loop: string): Promise<number | undefined>;
  /** Remembers `limit` for `loop`. Fire-and-forget: a failed write only means the next start is less informed. */
  save(loop: string, limit: number): void;
}

/**
 * A {@link LimitMemory} in the store's documents: namespace `adaptive`, key
 * the loop's name, value `{ limit }`. `onError` hears failed reads and
 * writes (for a log line); they are otherwise ignored.
 */
export function documentLimitMemory(
  documents: DocumentStore,
  clock: Clock,
  onError: (error: unknown, op: 'load' | 'save', loop: string) => void = () => {},
): LimitMemory {
  return {
    load: async (loop) => {
      try {
        const doc = await documents.get(LIMIT_MEMORY_NAMESPACE, loop);
        const limit = (doc?.value as { limit?: unknown } | undefined)?.limit;
        return typeof limit === 'number' && Number.isInteger(limit) && limit >= 1 ? limit : undefined;
      } catch (error) {
        onError(error, 'load', loop);
        return undefined;
      }
    },
    save: (loop, limit) => {
      documents
        .put(LIMIT_MEMORY_NAMESPACE, loop, { limit }, { now: clock.now() })
        .catch((error: unknown) => onError(error, 'save', loop));
    },
  };
}
