import { checkCount, checkFinite, checkName, jsonText, limitOf } from '../state-input.ts';
import type { JournalEntry, JournalStore, TrimOptions } from '../store.ts';

const DEFAULT_READ_LIMIT = 1000;

/** One journal: its entries oldest first (values as JSON text), and the last seq it gave out. */
interface Journal {
  lastSeq: number;
  entries: Array<{ readonly seq: number; readonly at: number; readonly text: string }>;
}

/**
 * Recipes' journals in this process's memory, for `MemoryStore`. A journal's
 * seq counter outlives its entries, so seqs never repeat after a trim.
 *
 * @example
 * const journals = new MemoryJournalStore(() => {});
 * const [seq] = await journals.append('decide/audit', [{ decision: 'scale-up' }], now);
 */
export class MemoryJournalStore implements JournalStore {
  readonly #journals = new Map<string, Journal>();
  readonly #open: (op: string) => void;

  /** `open(op)` throws when the store is closed. */
  constructor(open: (op: string) => void) {
    this.#open = open;
  }

  async append(journal: string, entries: readonly unknown[], now: number): Promise<number[]> {
    checkName('journal', journal, 'journals.append');
    const where = `journals.append ${journal}`;
    checkFinite('now', now, where);
    const texts = entries.map((entry, i) => jsonText(entry, `${where} (entry ${i})`));
    this.#open('journals.append');
    const held = this.#journals.get(journal) ?? { lastSeq: 0, entries: [] };
    const seqs = texts.map((text) => {
      const seq = ++held.lastSeq;
      held.entries.push({ seq, at: now, text });
      return seq;
    });
    this.#journals.set(journal, held);
    return seqs;
  }

  async read(journal: string, options?: { after?: number; limit?: number }): Promise<JournalEntry[]> {
    checkName('journal', journal, 'journals.read');
    const after = options?.after ?? 0;
    checkFinite('after', after, `journals.read ${journal}`);
    this.#open('journals.read');
    const entries = this.#journals.get(journal)?.entries ?? [];
    return entries
      .filter((entry) => entry.seq > after)
      .slice(0, limitOf(options?.limit, DEFAULT_READ_LIMIT))
      .map(({ seq, at, text }) => ({ seq, at, value: JSON.parse(text) }));
  }

  async trim(journal: string, options: TrimOptions): Promise<number> {
    checkName('journal', journal, 'journals.trim');
    const where = `journals.trim ${journal}`;
    if (options?.before !== undefined) checkFinite('before', options.before, where);
    if (options?.keepLast !== undefined) checkCount('keepLast', options.keepLast, where);
    this.#open('journals.trim');
    const held = this.#journals.get(journal);
    if (!held) return 0;
    const { before, keepLast } = options;
    let count = keepLast === undefined ? 0 : Math.max(0, held.entries.length - keepLast);
    if (before !== undefined) {
      let old = 0;
      while (old < held.entries.length && held.entries[old]!.at < before) old++;
      count = Math.max(count, old);
    }
    held.entries = held.entries.slice(count);
    return count;
  }
}
