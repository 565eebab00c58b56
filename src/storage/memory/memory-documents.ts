import { checkCount, checkFinite, checkName, compareKeys, documentPlace, jsonText, limitOf } from '../state-input.ts';
import type { DocumentStore, ListDocumentsOptions, PutOptions, StoredDocument } from '../store.ts';

/** A document as held here: its JSON text, so every read hands back a fresh copy. */
interface Held {
  readonly text: string;
  readonly version: number;
  readonly updatedAt: number;
}

/** One namespace: its documents and the last version it gave out (versions never go back, across deletes). */
interface Namespace {
  version: number;
  readonly documents: Map<string, Held>;
}

/**
 * Recipes' documents in this process's memory, for `MemoryStore`. Versions
 * come from one counter per namespace, so a key's version grows across a
 * delete and re-create, as on the durable backends.
 *
 * @example
 * const documents = new MemoryDocumentStore(() => {});
 * const version = await documents.put('supervise', 'api', { restarts: 0 }, { now, expectVersion: 0 });
 */
export class MemoryDocumentStore implements DocumentStore {
  readonly #namespaces = new Map<string, Namespace>();
  readonly #open: (op: string) => void;

  /** `open(op)` throws when the store is closed. */
  constructor(open: (op: string) => void) {
    this.#open = open;
  }

  async get(namespace: string, key: string): Promise<StoredDocument | undefined> {
    documentPlace('documents.get', namespace, key);
    this.#open('documents.get');
    const held = this.#namespaces.get(namespace)?.documents.get(key);
    return held && document(held);
  }

  async put(namespace: string, key: string, value: unknown, options: PutOptions): Promise<number | undefined> {
    const where = documentPlace('documents.put', namespace, key);
    checkFinite('now', options?.now, where);
    if (options.expectVersion !== undefined) checkCount('expectVersion', options.expectVersion, where);
    const text = jsonText(value, where);
    this.#open('documents.put');
    const space = this.#namespaces.get(namespace) ?? { version: 0, documents: new Map() };
    if (options.expectVersion !== undefined && (space.documents.get(key)?.version ?? 0) !== options.expectVersion) {
      return undefined;
    }
    space.version++;
    space.documents.set(key, { text, version: space.version, updatedAt: options.now });
    this.#namespaces.set(namespace, space);
    return space.version;
  }

  async delete(namespace: string, key: string, expectVersion?: number): Promise<boolean> {
    const where = documentPlace('documents.delete', namespace, key);
    if (expectVersion !== undefined) checkCount('expectVersion', expectVersion, where);
    this.#open('documents.delete');
    const documents = this.#namespaces.get(namespace)?.documents;
    const held = documents?.get(key);
    if (!held || (expectVersion !== undefined && held.version !== expectVersion)) return false;
    return documents!.delete(key);
  }

  async list(
    namespace: string,
    options?: ListDocumentsOptions,
  ): Promise<Array<StoredDocument & { readonly key: string }>> {
    checkName('namespace', namespace, 'documents.list');
    this.#open('documents.list');
    const documents = this.#namespaces.get(namespace)?.documents ?? new Map<string, Held>();
    const prefix = options?.prefix ?? '';
    const after = options?.after;
    return [...documents.keys()]
      .filter((key) => key.startsWith(prefix) && (after === undefined || compareKeys(key, after) > 0))
      .sort(compareKeys)
      .slice(0, limitOf(options?.limit, Number.MAX_SAFE_INTEGER))
      .map((key) => ({ key, ...document(documents.get(key)!) }));
  }
}

function document(held: Held): StoredDocument {
  return { value: JSON.parse(held.text), version: held.version, updatedAt: held.updatedAt };
}
