import type Database from 'better-sqlite3';
import { BulkInsert } from './statements.ts';
import { typedPrepare } from './typed-prepare.ts';

/**
 * The SQL behind recipes' documents and journals (tables of migration 4 in
 * ./statements.ts, which says why they are shaped so): one named statement
 * per atomic step, each opening with its input -> output contract, as in
 * ./statements.ts. Values are JSON text; times are epoch ms.
 */

export interface DocumentRow {
  key: string;
  value: string;
  version: number;
  updated_at: number;
}

export interface JournalEntryRow {
  seq: number;
  at: number;
  value: string;
}

/** insertJournalEntries' row. */
export type JournalEntryParams = [journal: string, seq: number, at: number, value: string];

/** Prepares the statements once, at open. */
export function prepareStateStatements(database: Database.Database) {
  const db = typedPrepare(database);
  return {
    // in: namespace, key -> out: the document's row, or undefined.
    getDocument: db.prepare<[namespace: string, key: string], DocumentRow>(
      'SELECT key, value, version, updated_at FROM documents WHERE namespace = ? AND key = ?',
    ),

    // in: namespace -> out: { version }: the namespace's previous last version plus one (1 at first), now stored.
    nextDocumentVersion: db.prepare<[namespace: string], { version: number }>(
      `INSERT INTO document_versions (namespace, version) VALUES (?, 1)
       ON CONFLICT (namespace) DO UPDATE SET version = version + 1
       RETURNING version`,
    ),

    // in: namespace, key, value, version, updated_at -> the document is these values (inserted or replaced).
    writeDocument: db.prepare<[namespace: string, key: string, value: string, version: number, updated_at: number]>(
      `INSERT INTO documents (namespace, key, value, version, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, version = excluded.version,
         updated_at = excluded.updated_at`,
    ),

    // in: namespace, key, version or null -> changes 1 when the document existed (with that version,
    // when one is given) and is deleted, else 0. One statement: atomic without a transaction.
    deleteDocument: db.prepare<{ namespace: string; key: string; version: number | null }>(
      `DELETE FROM documents WHERE namespace = @namespace AND key = @key
         AND (@version IS NULL OR version = @version)`,
    ),

    // in: namespace, prefix or null, after or null, limit -> out: the namespace's rows by key (BINARY:
    // UTF-8 bytes), keys starting with prefix and greater than after. `key >= prefix` starts the
    // primary-key scan where the prefix's keys begin.
    listDocuments: db.prepare<
      { namespace: string; prefix: string | null; after: string | null; limit: number },
      DocumentRow
    >(
      `SELECT key, value, version, updated_at FROM documents WHERE namespace = @namespace
         AND (@prefix IS NULL OR (key >= @prefix AND substr(key, 1, length(@prefix)) = @prefix))
         AND (@after IS NULL OR key > @after)
       ORDER BY key LIMIT @limit`,
    ),

    // in: journal, count -> out: { seq }: the journal's last seq after adding count (count at first),
    // now stored. The new entries take seq - count + 1 .. seq.
    claimJournalSeqs: db.prepare<[journal: string, count: number], { seq: number }>(
      `INSERT INTO journal_seqs (journal, seq) VALUES (?, ?)
       ON CONFLICT (journal) DO UPDATE SET seq = seq + excluded.seq
       RETURNING seq`,
    ),

    // in: JournalEntryParams rows -> one entry per row.
    insertJournalEntries: new BulkInsert<JournalEntryParams>(db, 'journal_entries', ['journal', 'seq', 'at', 'value']),

    // in: journal, after, limit -> out: entries with seq > after, oldest first.
    readJournal: db.prepare<{ journal: string; after: number; limit: number }, JournalEntryRow>(
      'SELECT seq, at, value FROM journal_entries WHERE journal = @journal AND seq > @after ORDER BY seq LIMIT @limit',
    ),

    // in: journal -> out: { seq }, its last seq given out, or undefined when never appended to.
    lastJournalSeq: db.prepare<[journal: string], { seq: number }>('SELECT seq FROM journal_seqs WHERE journal = ?'),

    // in: journal, before -> out: { seq } of its oldest entry whose at is not before `before`, or
    // undefined when every entry is. Walks the primary key from the oldest: reads what trim removes, plus one.
    firstJournalSeqFrom: db.prepare<[journal: string, before: number], { seq: number }>(
      'SELECT seq FROM journal_entries WHERE journal = ? AND at >= ? ORDER BY seq LIMIT 1',
    ),

    // in: journal, seq -> changes: the journal's entries with a lower seq, deleted.
    deleteJournalBefore: db.prepare<[journal: string, seq: number]>(
      'DELETE FROM journal_entries WHERE journal = ? AND seq < ?',
    ),
  };
}

export type StateStatements = ReturnType<typeof prepareStateStatements>;
