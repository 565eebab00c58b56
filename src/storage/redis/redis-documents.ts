import { checkCount, checkFinite, checkName, compareKeys, documentPlace, jsonText, limitOf } from '../state-input.ts';
import type { DocumentStore, StoredDocument } from '../store.ts';
import type { RunRedis } from './redis-store.ts';

/**
 * Recipes' documents on Redis, for `RedisStore`: a get is one HGET, the
 * writes and the list are Lua scripts (./state-scripts.ts), so a
 * compare-and-set is atomic across every process on the server. All keys
 * are under the store's prefix.
 *
 * @example
 * const version = await store.documents.put('supervise', 'api', { restarts: 0 }, { now, expectVersion: 0 });
 */
export function redisDocumentStore(run: RunRedis): DocumentStore {
  return {
    get: async (namespace, key) => {
      documentPlace('documents.get', namespace, key);
      const stored = await run('documents.get', (io) => io.redis.hget(io.key(`doc:${namespace}`), key));
      return stored === null ? undefined : fromStored(stored);
    },
    put: async (namespace, key, value, options) => {
      const where = documentPlace('documents.put', namespace, key);
      checkFinite('now', options?.now, where);
      const { now, expectVersion } = options;
      if (expectVersion !== undefined) checkCount('expectVersion', expectVersion, where);
      const args = [namespace, key, jsonText(value, where), now, expectVersion ?? ''];
      const version = (await run('documents.put', (io) => io.script('docPut', ...args))) as string;
      return version === '' ? undefined : Number(version);
    },
    delete: async (namespace, key, expectVersion) => {
      const where = documentPlace('documents.delete', namespace, key);
      if (expectVersion !== undefined) checkCount('expectVersion', expectVersion, where);
      const args = [namespace, key, expectVersion ?? ''];
      return (await run('documents.delete', (io) => io.script('docDelete', ...args))) === 1;
    },
    list: async (namespace, options) => {
      checkName('namespace', namespace, 'documents.list');
      const prefix = options?.prefix ?? '';
      const after = options?.after;
      const limit = limitOf(options?.limit, -1);
      if (limit === 0) return run('documents.list', async () => []);
      // Start after `after` when it is past where the prefix's keys begin, else at the prefix.
      const min =
        after !== undefined && compareKeys(after, prefix) >= 0 ? `(${after}` : prefix === '' ? '-' : `[${prefix}`;
      const reply = (await run('documents.list', (io) =>
        io.script('docList', namespace, min, prefix, limit),
      )) as string[];
      const out: Array<StoredDocument & { key: string }> = [];
      for (let i = 0; i + 1 < reply.length; i += 2) out.push({ key: reply[i]!, ...fromStored(reply[i + 1]!) });
      return out;
    },
  };
}

/** A document from its stored form, `<version> <updatedAt> <value JSON>`. */
function fromStored(stored: string): StoredDocument {
  const first = stored.indexOf(' ');
  const second = stored.indexOf(' ', first + 1);
  return {
    value: JSON.parse(stored.slice(second + 1)),
    version: Number(stored.slice(0, first)),
    updatedAt: Number(stored.slice(first + 1, second)),
  };
}
