import type Database from 'better-sqlite3';
import { checkCount, checkFinite, checkName, jsonText, limitOf } from '../state-input.ts';
import type { JournalStore } from '../store.ts';
import type { JournalEntryParams, StateStatements } from './state-statements.ts';
import type { RunStatements } from './statements.ts';

const DEFAULT_READ_LIMIT = 1000;

/**
 * The SQLite store's journals (tables `journal_entries` and `journal_seqs`,
 * see MIGRATIONS). `append` takes a run of seqs from `journal_seqs` and
 * inserts the entries in one `BEGIN IMMEDIATE` transaction; `trim` finds
 * where the oldest kept entry begins and deletes everything before it, in
 * another. Seqs live on in `journal_seqs` after their entries are gone.
 *
 * @example
 * const journals = sqliteJournalStore(db, state, run);
 * const [seq] = await journals.append('decide/audit', [{ decision: 'scale-up' }], now);
 */
export function sqliteJournalStore(db: Database.Database, sql: StateStatements, run: RunStatements): JournalStore {
  const append = db.transaction((journal: string, texts: readonly string[], now: number) => {
    const { seq: last } = sql.claimJournalSeqs.get(journal, texts.length) as { seq: number };
    const first = last - texts.length + 1;
    sql.insertJournalEntries.run(texts.map((text, i): JournalEntryParams => [journal, first + i, now, text]));
    return texts.map((_, i) => first + i);
  });
  const trim = db.transaction((journal: string, before: number | undefined, keepLast: number | undefined) => {
    const last = sql.lastJournalSeq.get(journal)?.seq;
    if (last === undefined) return 0;
    // The first seq kept: the later of what each rule keeps (every seq after `last`: all go).
    let cut = 0;
    if (keepLast !== undefined) cut = last - keepLast + 1;
    if (before !== undefined) cut = Math.max(cut, sql.firstJournalSeqFrom.get(journal, before)?.seq ?? last + 1);
    return cut <= 0 ? 0 : sql.deleteJournalBefore.run(journal, cut).changes;
  });
  return {
    append: async (journal, entries, now) => {
      checkName('journal', journal, 'journals.append');
      const where = `journals.append ${journal}`;
      checkFinite('now', now, where);
      const texts = entries.map((entry, i) => jsonText(entry, `${where} (entry ${i})`));
      return run('journals.append', () => (texts.length === 0 ? [] : append.immediate(journal, texts, now)));
    },
    read: async (journal, options) => {
      checkName('journal', journal, 'journals.read');
      const after = options?.after ?? 0;
      checkFinite('after', after, `journals.read ${journal}`);
      const limit = limitOf(options?.limit, DEFAULT_READ_LIMIT);
      return run('journals.read', () =>
        sql.readJournal.all({ journal, after, limit }).map((row) => ({
          seq: row.seq,
          at: row.at,
          value: JSON.parse(row.value),
        })),
      );
    },
    trim: async (journal, options) => {
      checkName('journal', journal, 'journals.trim');
      const where = `journals.trim ${journal}`;
      const { before, keepLast } = options ?? {};
      if (before !== undefined) checkFinite('before', before, where);
      if (keepLast !== undefined) checkCount('keepLast', keepLast, where);
      if (before === undefined && keepLast === undefined) return run('journals.trim', () => 0);
      return run('journals.trim', () => trim.immediate(journal, before, keepLast));
    },
  };
}
