import type Database from 'better-sqlite3';
import { checkCount, checkFinite, checkName, documentPlace, jsonText, limitOf } from '../state-input.ts';
import type { DocumentStore, StoredDocument } from '../store.ts';
import type { DocumentRow, StateStatements } from './state-statements.ts';
import type { RunStatements } from './statements.ts';

/**
 * The SQLite store's documents (tables `documents` and `document_versions`,
 * see MIGRATIONS). `put` reads the current version, checks it, takes the
 * namespace's next version and writes, in one `BEGIN IMMEDIATE` transaction,
 * so two processes can never both pass the same compare-and-set. The value
 * is checked and serialised before the transaction: the write lock, which
 * other processes wait on, is held only for the SQL. The other operations
 * are one statement each.
 *
 * @example
 * const documents = sqliteDocumentStore(db, state, run);
 * const version = await documents.put('supervise', 'api', { restarts: 0 }, { now, expectVersion: 0 });
 */
export function sqliteDocumentStore(db: Database.Database, sql: StateStatements, run: RunStatements): DocumentStore {
  const put = db.transaction(
    (namespace: string, key: string, text: string, now: number, expectVersion: number | undefined) => {
      if (expectVersion !== undefined && (sql.getDocument.get(namespace, key)?.version ?? 0) !== expectVersion) {
        return undefined;
      }
      const { version } = sql.nextDocumentVersion.get(namespace) as { version: number };
      sql.writeDocument.run(namespace, key, text, version, now);
      return version;
    },
  );
  return {
    get: async (namespace, key) => {
      documentPlace('documents.get', namespace, key);
      return run('documents.get', () => {
        const row = sql.getDocument.get(namespace, key);
        return row && fromDocumentRow(row);
      });
    },
    put: async (namespace, key, value, options) => {
      const where = documentPlace('documents.put', namespace, key);
      checkFinite('now', options?.now, where);
      const { now, expectVersion } = options;
      if (expectVersion !== undefined) checkCount('expectVersion', expectVersion, where);
      const text = jsonText(value, where);
      return run('documents.put', () => put.immediate(namespace, key, text, now, expectVersion));
    },
    delete: async (namespace, key, expectVersion) => {
      const where = documentPlace('documents.delete', namespace, key);
      if (expectVersion !== undefined) checkCount('expectVersion', expectVersion, where);
      const version = expectVersion ?? null;
      return run('documents.delete', () => sql.deleteDocument.run({ namespace, key, version }).changes === 1);
    },
    list: async (namespace, options) => {
      checkName('namespace', namespace, 'documents.list');
      const params = {
        namespace,
        prefix: options?.prefix || null,
        after: options?.after ?? null,
        limit: limitOf(options?.limit, -1),
      };
      return run('documents.list', () =>
        sql.listDocuments.all(params).map((row) => ({ key: row.key, ...fromDocumentRow(row) })),
      );
    },
  };
}

function fromDocumentRow(row: DocumentRow): StoredDocument {
  return { value: JSON.parse(row.value), version: row.version, updatedAt: row.updated_at };
}
